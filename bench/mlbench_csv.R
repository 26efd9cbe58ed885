# Write the public tables used by bench/tabular.ts as CSV (Debian package r-cran-mlbench:
# UCI Letter Recognition 20,000 x 16, Statlog Landsat Satellite 6,435 x 36, Statlog Shuttle
# 58,000 x 9). Usage: Rscript bench/mlbench_csv.R OUT_DIR
suppressMessages(library(mlbench))
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args)) args[[1]] else "data/tabular"
dir.create(out, showWarnings = FALSE, recursive = TRUE)
write <- function(df, name) {
  path <- file.path(out, paste0(name, ".csv"))
  write.csv(df, path, row.names = FALSE, quote = FALSE)
  cat(sprintf("%s: %d rows x %d columns\n", path, nrow(df), ncol(df)))
}
data(LetterRecognition); write(LetterRecognition, "letter")
data(Satellite); write(Satellite, "satellite")
data(Shuttle); write(Shuttle, "shuttle")
