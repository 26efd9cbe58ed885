#!/usr/bin/env python3
"""Strong scikit-learn baselines for `latentkit probe`, on the same CSV and the same folds.

Usage (Debian's python3-sklearn; the pyenv `python3` may lack it, use /usr/bin/python3):
    /usr/bin/python3 bench/tabular_sklearn.py DATA.csv --target COL --folds FOLDS.txt [--models mlp64,mlp256,hgb]

FOLDS.txt holds one fold number per data row (row order of the CSV, header excluded), as
written by bench/tabular.ts from latentkit's own stratified k-fold (src/data/tabular/target.ts),
so both sides score exactly the same held-out rows.

Models (scikit-learn defaults otherwise, random_state 0):
  mlp64, mlp256   StandardScaler (numbers) + one-hot (text), MLPClassifier(hidden_layer_sizes=(H,))
  hgb             HistGradientBoostingClassifier (text columns as ordinal categories)

Prints one JSON object on stdout: per model, accuracy / ROC AUC (macro one-vs-rest) / log loss
per fold with mean and std (ddof 1, as latentkit reports), and wall seconds (fit + predict, all
folds). Progress goes to stderr.
"""

import argparse
import json
import sys
import time
import warnings

import csv

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler


MISSING = {'', 'NA', 'N/A', 'n/a', 'NaN', 'nan', 'null', 'NULL', 'None', '?'}


def read_csv(path, target):
    """Columns of a CSV without pandas: numbers (NaN for missing) and text, plus the target."""
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    head, rows = rows[0], rows[1:]
    cols = {h: [r[j].strip() for r in rows] for j, h in enumerate(head)}
    y = np.array(cols.pop(target))

    def number(v):
        return np.nan if v in MISSING else float(v)

    numeric, text = {}, {}
    for name, vals in cols.items():
        try:
            numeric[name] = np.array([number(v) for v in vals])
        except ValueError:
            text[name] = np.array(['' if v in MISSING else v for v in vals], dtype=object)
    num = np.column_stack(list(numeric.values())) if numeric else np.zeros((len(y), 0))
    txt = np.column_stack(list(text.values())) if text else np.zeros((len(y), 0), dtype=object)
    return num, txt, y


def make_model(name, n_numeric, n_text):
    num = list(range(n_numeric))
    txt = list(range(n_numeric, n_numeric + n_text))
    if name.startswith('mlp'):
        prep = ColumnTransformer([
            ('num', make_pipeline(SimpleImputer(), StandardScaler()), num),
            ('txt', OneHotEncoder(handle_unknown='ignore'), txt),
        ])
        return make_pipeline(prep, MLPClassifier(hidden_layer_sizes=(int(name[3:]),), random_state=0))
    if name == 'hgb':
        prep = ColumnTransformer([
            ('num', 'passthrough', num),
            ('txt', OrdinalEncoder(handle_unknown='use_encoded_value', unknown_value=-1), txt),
        ])
        cats = [False] * n_numeric + [True] * n_text
        return make_pipeline(prep, HistGradientBoostingClassifier(random_state=0, categorical_features=cats if n_text else None))
    raise SystemExit(f'unknown model {name!r}; choose from mlp64, mlp256, hgb (mlpH for any H)')


def scores(y_true, proba, classes):
    pred = classes[np.argmax(proba, axis=1)]
    if len(classes) == 2:
        auc = roc_auc_score(y_true == classes[1], proba[:, 1])
    else:
        auc = roc_auc_score(y_true, proba, multi_class='ovr', average='macro', labels=classes)
    return {'accuracy': accuracy_score(y_true, pred), 'auc': auc, 'logloss': log_loss(y_true, proba, labels=classes)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('data')
    ap.add_argument('--target', required=True)
    ap.add_argument('--folds', required=True, help='file with one fold number per data row')
    ap.add_argument('--models', default='mlp64,mlp256,hgb')
    a = ap.parse_args()

    num, txt, y = read_csv(a.data, a.target)
    x = np.concatenate([num.astype(object), txt], axis=1) if txt.shape[1] else num
    fold = np.loadtxt(a.folds, dtype=int)
    if len(fold) != len(y):
        raise SystemExit(f'{a.folds}: {len(fold)} fold numbers for {len(y)} rows of {a.data}')
    out = {'data': a.data, 'target': a.target, 'rows': len(y), 'folds': int(fold.max()) + 1, 'sklearn': __import__('sklearn').__version__, 'models': {}}
    for name in a.models.split(','):
        per_fold = {'accuracy': [], 'auc': [], 'logloss': []}
        t0 = time.perf_counter()
        for f in range(out['folds']):
            tr, te = fold != f, fold == f
            model = make_model(name, num.shape[1], txt.shape[1])
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', ConvergenceWarning)
                model.fit(x[tr], y[tr])
            classes = model.classes_
            for k, v in scores(y[te], model.predict_proba(x[te]), classes).items():
                per_fold[k].append(float(v))
            print(f'{name} fold {f + 1}: accuracy {per_fold["accuracy"][-1]:.4f}', file=sys.stderr)
        seconds = time.perf_counter() - t0
        out['models'][name] = {
            'seconds': seconds,
            'metrics': {k: {'mean': float(np.mean(v)), 'std': float(np.std(v, ddof=1)), 'folds': v} for k, v in per_fold.items()},
        }
    print(json.dumps(out, indent=2))


if __name__ == '__main__':
    main()
