// PIL's Image.alpha_composite(white, image).convert('RGB') (libImaging/AlphaComposite.c, its scalar
// path), which transformers' convert_to_rgb applies to every image with transparency. Over an opaque
// white background the coefficients reduce to coef1 = a·128, coef2 = (255 − a)·128 (7 fraction bits).

const shiftDiv255 = (v: number): number => ((v >>> 8) + v) >>> 8

/** RGBA bytes → RGB bytes, each pixel composited over opaque white exactly as Pillow rounds it. */
export function compositeOnWhite(rgba: Uint8Array): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3)
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    const a = rgba[i + 3]!
    for (let c = 0; c < 3; c++) {
      // tmp = src·coef1 + dst·coef2 with dst = 255; + 0x80 << 7 rounds the division by 255
      const tmp = rgba[i + c]! * a * 128 + 255 * (255 - a) * 128
      rgb[j + c] = a === 0 ? 255 : shiftDiv255(tmp + (0x80 << 7)) >>> 7
    }
  }
  return rgb
}
