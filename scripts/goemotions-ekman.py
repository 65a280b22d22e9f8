#!/usr/bin/env python3
"""GoEmotions mapped to Ekman's seven labels, as JSON Lines for `memorable examples import`.

    scripts/goemotions-ekman.py ../shared/data/goemotions OUT_DIR

writes OUT_DIR/train.jsonl and OUT_DIR/dev.jsonl: {"text", "labels"} a line, each GoEmotions
label replaced by its Ekman group (the paper's mapping, goemotions/ekman.json; `neutral`
stays), duplicates within a text removed. Texts are unquoted as GoEmotions' TSV quotes them.
"""
import json, pathlib, sys

def main():
    src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    labels = (src / "labels.txt").read_text().split()
    groups = json.loads((src / "ekman.json").read_text())
    to_ekman = {g: e for e, members in groups.items() for g in members}
    for split in ("train", "dev"):
        rows = []
        for line in (src / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]:
            text, ids, _ = line.split("\t")
            if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
                text = text[1:-1].replace('""', '"')
            mapped = sorted({to_ekman[labels[int(i)]] for i in ids.split(",")})
            rows.append(json.dumps({"text": text, "labels": mapped}))
        (out / f"{split}.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
        print(f"{split}: {len(rows)} texts -> {out / (split + '.jsonl')}")

if __name__ == "__main__":
    main()
