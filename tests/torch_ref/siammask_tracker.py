"""pysot's `SiamMaskTracker` (STVIR/pysot `tracker/siammask_tracker.py`) restated over tests/torch_ref/tracker_loop's
`SiamRPNTracker`: the same box, then the best anchor's refined window mask (`model.mask_refine((delta_y, delta_x))`,
sigmoid), pasted into the frame by `_crop_back` (crop box, `sub_box`, `back_box`, cv2.warpAffine) and turned into
the rotated box by `_mask_post_processing` (largest external contour > 100 px: minAreaRect + boxPoints, else the
box's corners). float64 state, as pysot's numpy."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from tests.torch_ref import tracker_loop

MASK_THERSHOLD = 0.15  # pysot cfg.TRACK.MASK_THERSHOLD


def crop_back(image, bbox, out_sz, padding=0):
    a = (out_sz[0] - 1) / bbox[2]
    b = (out_sz[1] - 1) / bbox[3]
    c = -a * bbox[0]
    d = -b * bbox[1]
    mapping = np.array([[a, 0, c], [0, b, d]]).astype(np.float64)
    return cv2.warpAffine(image, mapping, (out_sz[0], out_sz[1]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=padding)


class Tracker(tracker_loop.Tracker):
    """`track(img)` -> {"bbox", "best_score", "mask" (float frame probabilities), "polygon" [8]}, as pysot's."""

    def _post_processing(self, mask):
        target_mask = (mask > MASK_THERSHOLD).astype(np.uint8)
        contours, _ = cv2.findContours(target_mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cnt_area = [cv2.contourArea(cnt) for cnt in contours]
        if len(contours) != 0 and np.max(cnt_area) > 100:
            polygon = contours[np.argmax(cnt_area)].reshape(-1, 2)
            return cv2.boxPoints(cv2.minAreaRect(polygon))
        x, y, w, h = self.center_pos[0] - self.size[0] / 2, self.center_pos[1] - self.size[1] / 2, *self.size
        return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])

    @torch.no_grad()
    def track(self, img):
        bbox, best_score = super().track(img)
        center, s_x = self.crop
        crop_box = [center[0] - s_x / 2, center[1] - s_x / 2, s_x, s_x]
        k = len(self.s.ratios) * len(self.s.scales)
        _, delta_y, delta_x = np.unravel_index(self.best, (k, self.score_size, self.score_size))
        mask = self.model.mask_refine((int(delta_y), int(delta_x))).sigmoid().squeeze()
        out_size = round(mask.numel() ** 0.5)
        mask = mask.view(out_size, out_size).cpu().numpy()
        s = crop_box[2] / self.s.instance_size
        base_size, stride = self.s.base_size, self.s.stride
        sub_box = [crop_box[0] + (delta_x - base_size / 2) * stride * s,
                   crop_box[1] + (delta_y - base_size / 2) * stride * s,
                   s * self.s.exemplar_size, s * self.s.exemplar_size]
        s = out_size / sub_box[2]
        im_h, im_w = img.shape[:2]
        back_box = [-sub_box[0] * s, -sub_box[1] * s, im_w * s, im_h * s]
        mask_in_img = crop_back(mask, back_box, (im_w, im_h))
        polygon = self._post_processing(mask_in_img)
        return {"bbox": bbox, "best_score": best_score, "mask": mask_in_img, "polygon": polygon.flatten().tolist()}
