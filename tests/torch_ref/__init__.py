"""Pure-torch reference networks written from pysot / SiamBAN (STVIR/pysot, hqucv/siamban) and torchvision, with
their state_dict key names, for the converter's parity tests (`tests/test_convert.py`, `tests/test_parity_layers.py`).

    model = builders.build("siamrpn_r50_l234_dwxcorr")      # pysot ModelBuilder layout: backbone / neck / rpn_head
    randomize(model, seed=0)                                # weights, BN statistics and fusion weights off default
    model.template(z); out = model.track(x)                 # z / x: [B, 3, H, W] float32 (BGR 0..255 in pysot)
"""
