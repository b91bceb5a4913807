/** A one-line text progress bar: `[########------------]  40%  160/400`. */

/** The bar for `done` of `total` (a total of 0 reads as complete), `width` cells wide. */
export function progressBar(done: number, total: number, width = 30): string {
  const ratio = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(ratio * width);
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${percent}  ${done}/${total}`;
}
