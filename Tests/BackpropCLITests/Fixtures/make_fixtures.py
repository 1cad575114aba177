"""Writes the CSV fixtures of the real-world input tests (run once; the files are committed).

Each file is a real dataset (scikit-learn's bundled iris and diabetes) or a small seeded one, written the way
people's tools write them: pandas with its index, a European spreadsheet (semicolons, decimal commas, a byte-order
mark, CRLF), tab-separated, quoted text with commas, quotes and line breaks, missing cells.
Needs: python3 -m pip install scikit-learn pandas
"""
import numpy as np
import pandas as pd
from pathlib import Path
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import train_test_split

here = Path(__file__).parent
iris = load_iris(as_frame=True)
frame = iris.frame.rename(columns={"target": "species"})
frame["species"] = iris.target_names[iris.target]
train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["species"])

# pandas' default: an unnamed index column (shuffled by the split), comma-separated.
train.to_csv(here / "iris-pandas-train.csv")
test.to_csv(here / "iris-pandas-test.csv")

# A European spreadsheet export: the label first, semicolons, decimal commas, BOM, CRLF.
excel = train[["species"] + list(iris.feature_names)].rename(columns={"species": "Species"})
excel.to_csv(here / "iris-excel.csv", sep=";", decimal=",", index=False, encoding="utf-8-sig", lineterminator="\r\n")

# Tab-separated with the label, named "class", in the middle.
tabbed = train[list(iris.feature_names[:2]) + ["species"] + list(iris.feature_names[2:])].rename(columns={"species": "class"})
tabbed.to_csv(here / "iris.tsv", sep="\t", index=False)

# New flowers to predict: no label, columns in another order, an id column.
new = test[list(reversed(iris.feature_names))].copy()
new.insert(0, "flower_id", [f"f{i:03d}" for i in range(len(new))])
new.to_csv(here / "iris-new.csv", index=False)

# Missing cells of every spelling in 6 % of the training features.
rng = np.random.default_rng(3)
holes = train.copy().astype({name: object for name in iris.feature_names})
for name in iris.feature_names:
    rows = rng.random(len(holes)) < 0.06
    holes.loc[rows, name] = rng.choice(["", "NA", "NaN", "?"], size=rows.sum())
holes.to_csv(here / "iris-missing.csv", index=False)

# Quoted text: a categorical feature and class names holding commas, quotes and a line break.
cities = ["Portland, OR", 'The "Big Apple"', "St. John's", "Line\nbreak town"]
climates = {0: "wet, mild", 1: 'dry "hot"', 2: "wet, mild", 3: "cold,\nsnowy"}
rows = []
for i in range(160):
    city = int(rng.integers(4))
    rows.append({"city": cities[city], "temperature": round(float(rng.normal(10 + 5 * city, 2)), 2),
                 "climate": climates[city]})
pd.DataFrame(rows).to_csv(here / "climate-quoted.csv", index=False)

# Regression: the diabetes progression target (whole numbers 25..346), a train and a test file.
diabetes = load_diabetes(as_frame=True, scaled=False).frame
d_train, d_test = train_test_split(diabetes, test_size=0.25, random_state=0)
d_train.to_csv(here / "diabetes-train.csv", index=False)
d_test.to_csv(here / "diabetes-test.csv", index=False)
