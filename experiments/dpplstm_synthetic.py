"""dppLSTM video summarizer (BiLSTM + DPP loss) on the synthetic videos, evaluated next to random/uniform/oracle/human.

    python launch.py --experiment=dpplstm_synthetic --workdir=runs/dpplstm_synthetic
    python launch.py --experiment=dpplstm_synthetic --config.num_epochs=40 --workdir=runs/dpp40

Choices (tuned on the 16-video val split, never on test):
- features: colour / motion-energy statistics of 64 px frames (4 x 4 motion grid), no backbone. The synthetic
  events that drive interest (flash, fast motion, zoom, crossing, occlusion, out of view) are frame-to-frame
  changes; the randomly initialised ResNet's pooled features do not carry them (a ridge regression on them
  predicts val interest at Spearman 0.07, on the statistics at 0.37), and adding them to the statistics
  only lets the BiLSTM overfit.
- 128 training videos and 15 epochs: with 64 videos / 30 epochs the model fits train and generalises less.
- mse_target "scores": the importance head regresses the users' mean score rather than the sparse 0/1
  majority-vote keyframes (the DPP term still models the keyframes); val tau 0.20 -> 0.26 (seed 0), 0.17 -> 0.24
  (seed 1).
- max_shot_len 8: the videos' change points are scene cuts (6 per 96 frames) while the simulated users pick
  4-8 frame segments; keyshots drawn from whole scene cuts cap the users' own mean score at F 0.39 and give
  random scores F 0.28. Cut into <= 8-frame sub-shots (like the KTS segments of TVSum / SumMe), the oracle
  reaches 0.49 and random 0.14.
"""

from ml_collections import ConfigDict
from ml_collections.config_dict import placeholder

from jaxtrack import config as config_lib


def get_config() -> ConfigDict:
    c = config_lib.experiment("summarize")
    c.name = "dpplstm_synthetic"
    c.seed = 0
    # trainer
    c.num_epochs = 15
    c.steps_per_epoch = 0  # 0: one pass over the training videos (log / eval once per epoch)
    c.checkpoint_every = 100000  # the last step is always saved
    c.tensorboard = False
    c.progress = False
    c.optim.name = "adam"
    c.optim.weight_decay = 0.0
    c.optim.grad_clip = 5.0
    c.optim.lr = ConfigDict({"type": "constant", "start_lr": 1e-3})
    c.optim.warmup.epochs = 0
    c.optim.backbone.prefixes = ()
    c.model.name = "summarizer"
    c.model.kwargs = ConfigDict({"hidden": 64, "mlp_hidden": 64, "kernel_dim": 32, "tied_directions": False,
                                 "activation": "sigmoid",
                                 "projection": ()})  # (r_fwd, r_bwd): an SVD-compressed model (--mode=compress)
    c.task = ConfigDict({"loss": "dpplstm", "dpp_weight": 0.1, "jitter": 1e-3, "mse_target": "scores"})
    c.data.update(dataset="synthetic_videos", split="train", eval_split="val", test_split="test", batch_size=8)
    c.data.options = ConfigDict({"num_train": 128, "num_val": 16, "num_test": 16, "image_format": "jpeg",
                                 "height": 128, "width": 128, "n_frames": 96, "n_shots": 6})
    c.data.summ = ConfigDict({"buckets": (64, 128, 256, 512, 1024), "keyframe_threshold": 0.5})  # SummConfig
    c.features = ConfigDict({"backbone": "", "image_size": 64, "chunk_size": 96, "seed": 0, "stats_grid": 4})
    c.summ = ConfigDict({"mode": "avg", "proportion": 0.15, "plot_video": 0, "max_shot_len": 8,
                         "standardize": True,  # z-score features with the training steps' statistics
                         "folds": 0})  # K > 0: the K-fold protocol (0: 5 folds on tvsum / summe, none otherwise)
    c.summ.delta_threshold = placeholder(float)  # >= 0: evaluate with the delta trick (models.lstm_cells); None: exact
    return c
