# The oracle of test/data/images/preprocess-parity.test.ts: Pillow 13 decodes each PNG, and
# transformers' CLIPImageProcessorPil / Qwen2VLImageProcessorPil preprocess it. One process for the
# whole file. stdin: { "write": [...], "files": [...], "processors": [...], "resize": [...] }.
import base64, json, sys
import numpy as np
from PIL import Image
from transformers.image_transforms import convert_to_rgb
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

req = json.load(sys.stdin)
b64 = lambda a: base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()

# PNGs of kinds tunekit's encoder does not write (1-bit, 4-bit palette, PIL's own filters)
for w in req["write"]:
    rng = np.random.default_rng(w["seed"])
    h, wd = w["height"], w["width"]
    if w["mode"] == "1":
        Image.fromarray(rng.integers(0, 2, (h, wd), dtype=np.uint8) * 255).convert("1").save(w["file"])
    elif w["mode"] == "P4":
        im = Image.fromarray(rng.integers(0, 16, (h, wd), dtype=np.uint8), "P")
        im.putpalette(list(rng.integers(0, 256, 48)))
        im.save(w["file"], bits=4)
    else:
        Image.fromarray(rng.integers(0, 256, (h, wd, 3), dtype=np.uint8), "RGB").save(w["file"])

out = {"rgb": {}, "resized": [], "processed": []}
for f in req["files"]:
    im = Image.open(f)
    out["rgb"][f] = b64(convert_to_rgb(im, return_numpy=True))
for r in req["resize"]:
    im = Image.fromarray(convert_to_rgb(Image.open(r["file"]), return_numpy=True))
    out["resized"].append(b64(np.array(im.resize((r["width"], r["height"]), resample=r["resample"]))))
for p in req["processors"]:
    cls = CLIPImageProcessorPil if p["type"] == "clip" else Qwen2VLImageProcessorPil
    proc = cls(**p["config"])
    for f in req["files"]:
        r = proc(images=Image.open(f), return_tensors="np")
        pv = r["pixel_values"].astype(np.float32)
        out["processed"].append({
            "pixels": b64(pv[0] if p["type"] == "clip" else pv),
            "shape": list(pv.shape[1:] if p["type"] == "clip" else pv.shape),
            "grid": r["image_grid_thw"][0].tolist() if "image_grid_thw" in r else None,
        })
json.dump(out, sys.stdout)
