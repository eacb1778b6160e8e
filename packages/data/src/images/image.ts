/**
 * A decoded image as the image processors take it: 8-bit RGB, row-major, `data[(y * width + x) * 3 + c]`.
 * Every decoder returns this (alpha already composited), so preprocessing has one input type.
 */
export interface RgbImage {
  width: number
  height: number
  channels: 3
  data: Uint8Array
}

/** A blank RGB image of the given size (all zeros: black). */
export function rgbImage(width: number, height: number, data: Uint8Array = new Uint8Array(width * height * 3)): RgbImage {
  return { width, height, channels: 3, data }
}
