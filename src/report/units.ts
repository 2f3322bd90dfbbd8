/** Human-readable sizes and rates (decimal units, as `ls -h --si` and most dashboards). */
export function formatBytes(n: number): string {
  const sign = n < 0 ? "-" : "";
  let v = Math.abs(n);
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${sign}${i === 0 ? v.toFixed(0) : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

export function formatRate(bytesPerS: number): string {
  return `${formatBytes(bytesPerS)}/s`;
}
