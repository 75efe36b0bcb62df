"""Plain readers of tracking and summarization datasets into `Video` records (no TFDS needed).

- `got10k.read_got10k(root, split)`, `otb.read_otb(root)`, `lasot.read_lasot(root)`: folder layouts -> list[Video]
  with `frame_paths` (decode lazily with `images.FileVideos` / `images.read_image`).
- `vot.read_vot(root)`: VOT short-term folders (rectangles, rotated boxes as pysot's axis-aligned boxes, masks'
  boxes; per-sequence tag flags); `vot.read_vot_polygons(seq_dir)` for the 8-value regions.
- `davis.read_davis(root, year, split)`: DAVIS 2016 / 2017 label maps; `youtube_vos.read_youtube_vos(root, split)`:
  YouTube-VOS `VOSSequence`s (sparse label maps, which frames are annotated, each object's first and last frame).
- `eccv16.read_eccv16(h5_path)`, `eccv16.read_splits(json_path)`: SumMe/TVSum feature files and their 5 splits.
- `raw_summ.read_tvsum_tsv(path)`, `raw_summ.read_summe_mat(path)`: raw user annotations.
"""
