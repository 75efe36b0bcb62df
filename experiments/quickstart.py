"""The main job: synthetic data -> train an ACM tracker + a dppLSTM -> evaluate vs baselines -> report.md (~12 min).

    python launch.py --experiment=quickstart --workdir=runs/quickstart
    python launch.py --experiment=quickstart --workdir=runs/qs --config.tracker.num_epochs=2   # a shorter run

Each sub-config is the named experiment's own, so any of their keys can be overridden here: `tracker` is
siamrpnpp_acm_synthetic (the quickest ACM tracker to train: 4.5-6 min, and the best ACM one on the test split) with
eval_synthetic's `eval` section (64 test videos, CSRT / KCF / static), `summarizer` dpplstm_synthetic. Stages and
outputs: jaxtrack/modes/quickstart.py.
"""

from ml_collections import ConfigDict

from experiments import dpplstm_synthetic, eval_synthetic, siamrpnpp_acm_synthetic


def get_config() -> ConfigDict:
    c = ConfigDict()
    c.name = "quickstart"
    c.mode = "quickstart"
    c.tracker = siamrpnpp_acm_synthetic.get_config()
    c.tracker.progress = True  # steps/s and ETA
    c.tracker.eval = eval_synthetic.get_config().eval
    c.tracker.eval.models = []  # the quickstart's own tracker only
    c.tracker.eval.attribute_plots = False  # the per-attribute tables stay in tracker/eval/synthetic/summary.md
    c.summarizer = dpplstm_synthetic.get_config()
    c.summarizer.progress = True
    c.report_frames = 6  # tracked frames shown in report.md
    return c
