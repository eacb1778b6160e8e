/** Python's round(x) for a float: to the nearest integer, halves to the even one (banker's rounding). */
export function pythonRound(x: number): number {
  const floor = Math.floor(x)
  const fraction = x - floor
  if (fraction !== 0.5) return fraction < 0.5 ? floor : floor + 1
  return floor % 2 === 0 ? floor : floor + 1
}
