// Ranking metrics for scores against binary labels, matching sklearn.metrics: one place for
// anomaly detection, sequence anomalies and classification probes.

/**
 * Area under the ROC curve: the probability that a random positive (label 1, an anomaly)
 * scores above a random negative, ties counting one half (Mann-Whitney U with mid-ranks).
 * Equals sklearn.metrics.roc_auc_score. NaN when either class is absent.
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  const n = scores.length;
  if (labels.length !== n) throw new Error(`auroc: ${n} scores but ${labels.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0, rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) if (labels[order[t]!]) {
      pos++;
      rankSum += midRank;
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (!pos || !neg) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Average precision: Σ (R_k − R_{k−1}) P_k over the distinct score thresholds, highest first
 * (sklearn.metrics.average_precision_score). NaN without positives.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number {
  const n = scores.length;
  if (labels.length !== n) throw new Error(`averagePrecision: ${n} scores but ${labels.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let total = 0;
  for (let i = 0; i < n; i++) if (labels[i]) total++;
  if (!total) return NaN;
  let tp = 0, seen = 0, prevRecall = 0, ap = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    for (let t = i; t <= j; t++) if (labels[order[t]!]) tp++;
    seen = j + 1;
    const recall = tp / total;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
    i = j + 1;
  }
  return ap;
}
