#!/usr/bin/env python3
"""Write tests/fixtures/emotion_examples.jsonl: small, made-up labelled texts (joy, anger,
sadness) that the custom-training tests of every binding import. Deterministic: running it
again writes the same file."""
import itertools, json, pathlib, random

THINGS = ["the new job", "my sister's visit", "the concert", "our trip to the coast", "the garden",
          "the test results", "the wedding", "my old car", "the neighbours", "the project",
          "the holiday plans", "the birthday party", "the football match", "the move", "the dinner"]
TEMPLATES = {
    "joy": ["I am so happy about {t}!", "What a wonderful surprise, {t} made my day.",
            "I can't stop smiling about {t}.", "Honestly {t} was the best thing this year.",
            "I'm thrilled and grateful for {t}.", "{t} went perfectly, I feel great."],
    "anger": ["I am furious about {t}.", "{t} makes me so angry I could scream.",
              "How dare they ruin {t}, this is outrageous.", "I'm fed up and livid about {t}.",
              "Stop lying to me about {t}, I'm sick of it.", "{t} was a disgrace and I'm mad."],
    "sadness": ["I feel so sad about {t}.", "{t} left me heartbroken and alone.",
                "I cried all night thinking about {t}.", "I miss how things were before {t}.",
                "{t} makes me feel empty and down.", "It hurts so much to lose {t}."],
}

def main():
    rng = random.Random(7)
    rows = []
    for label, templates in TEMPLATES.items():
        for tpl, thing in itertools.product(templates, THINGS):
            text = tpl.format(t=thing)
            rows.append({"text": text[0].upper() + text[1:], "labels": [label]})
    rng.shuffle(rows)
    out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "emotion_examples.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"{len(rows)} examples -> {out}")

if __name__ == "__main__":
    main()
