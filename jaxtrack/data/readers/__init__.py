"""Plain readers of tracking and summarization datasets into `Video` records (no TFDS needed).

- `got10k.read_got10k(root, split)`, `otb.read_otb(root)`, `lasot.read_lasot(root)`: folder layouts -> list[Video]
  with `frame_paths` (decode lazily with `images.FileVideos` / `images.read_image`).
- `eccv16.read_eccv16(h5_path)`, `eccv16.read_splits(json_path)`: SumMe/TVSum feature files and their 5 splits.
- `raw_summ.read_tvsum_tsv(path)`, `raw_summ.read_summe_mat(path)`: raw user annotations.
"""
