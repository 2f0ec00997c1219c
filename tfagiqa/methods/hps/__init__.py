"""HPS, the Human Preference Score (Wu et al. 2023: v1 "Better aligning text-to-image models with human
preference"; v2 "Human Preference Score v2"): 100 × cos(image, prompt) in a CLIP fine-tuned on human choices."""

from tfagiqa.methods import Method

METHOD = Method(
    name="hps", title="HPS v1 / v2 (Human Preference Score)", package=__name__, benchmark="benchmark",
    summary="CLIP fine-tuned on human preferences (v1: OpenAI ViT-L/14, v2: open_clip ViT-H/14); 100·cos(image, prompt)",
    scorers="scorers", converters={"hps": "convert"},
)
