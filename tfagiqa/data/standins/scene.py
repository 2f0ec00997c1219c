"""What a stand-in image shows: the visual vocabulary, scene specs, prompt text, and what a generator gets wrong.

Every prompt word has a visible counterpart (a colour, a shape, a count, a place, an adjective cue, a style), so
text-image alignment is learnable: :func:`realise` turns the spec a prompt asks for into the spec a generator
draws, dropping or swapping each element with a probability set by the generator's fidelity, and lists what
went missing. :mod:`tfagiqa.data.standins.render` draws a spec.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLOURS = {
    "red": (220, 40, 40), "orange": (240, 140, 30), "yellow": (240, 215, 40), "green": (40, 160, 60),
    "cyan": (40, 200, 210), "blue": (40, 80, 220), "purple": (140, 60, 200), "pink": (240, 120, 180),
}
SHAPES = ("circle", "square", "triangle", "star", "diamond", "hexagon", "ring", "cross")
NUMBER_WORDS = {1: "a", 2: "two", 3: "three"}
BACKGROUNDS = {
    "plain": ((236, 230, 218), (196, 192, 184)),
    "city": ((175, 180, 190), (110, 110, 120)),
    "wild": ((140, 190, 235), (70, 150, 70)),
}
TINTS = {"cold color": (60, 110, 210), "warm color": (235, 140, 60)}
PLACES = ("city", "wild")  # backgrounds a prompt can name (AGIQA-1K's places)
# AGIQA-3K's adjectives, by category; adj2 always comes from a later category than adj1 (as in data.csv).
ADJECTIVE_CATEGORIES = (
    ("cold color", "warm color"),
    ("top view", "elevation view"),
    ("close-up", "long-shot"),
    ("blurred detail", "hyper detail"),
    ("soft lighting", "HDR lighting"),
)
STYLES = ("anime style", "sci-fi style", "baroque style", "abstract style", "realistic style")  # AGIQA-3K's five


@dataclass(frozen=True)
class Thing:
    """One kind of object a prompt asks for: how many, which colour, which shape."""

    count: int
    colour: str
    shape: str


@dataclass(frozen=True)
class Spec:
    """What an image should show: objects, background, adjective cues and style."""

    things: tuple[Thing, ...]
    background: str = "plain"
    modifiers: tuple[str, ...] = ()
    style: str | None = None


def phrase(thing: Thing) -> str:
    """'a red circle', 'an orange star', 'two blue squares'."""
    article = NUMBER_WORDS[thing.count]
    if article == "a" and thing.colour[0] in "aeiou":
        article = "an"
    plural = "" if thing.count == 1 else ("es" if thing.shape.endswith("s") else "s")
    return f"{article} {thing.colour} {thing.shape}{plural}"


def main_text(things: tuple[Thing, ...]) -> str:
    """The prompt's object phrase, e.g. 'two red circles and a blue square'."""
    return " and ".join(phrase(t) for t in things)


def sample_things(rng: np.random.Generator, kinds: int) -> tuple[Thing, ...]:
    """1 or 2 kinds of object, 1–3 objects in all, with distinct colours and shapes."""
    counts = [int(rng.integers(1, 4))] if kinds == 1 else [[1, 1], [2, 1], [1, 2]][int(rng.integers(3))]
    colours = rng.choice(list(COLOURS), size=kinds, replace=False)
    shapes = rng.choice(SHAPES, size=kinds, replace=False)
    return tuple(Thing(c, str(col), str(s)) for c, col, s in zip(counts, colours, shapes))


def sample_adjectives(rng: np.random.Generator, count: int) -> tuple[str, ...]:
    """``count`` adjectives from distinct categories, in category order (so adj2 comes after adj1, as in data.csv)."""
    categories = sorted(rng.choice(len(ADJECTIVE_CATEGORIES), size=count, replace=False))
    return tuple(str(rng.choice(ADJECTIVE_CATEGORIES[c])) for c in categories)


def count_elements(spec: Spec) -> int:
    """How many checkable prompt elements: shape, colour and count per object kind, then background, adjectives, style."""
    return 3 * len(spec.things) + (spec.background != "plain") + len(spec.modifiers) + (spec.style is not None)


def _other(options, current: str, rng: np.random.Generator) -> str:
    """A random option different from ``current`` (what a generator swaps in when it gets an element wrong)."""
    return str(rng.choice([o for o in options if o != current]))


def realise(spec: Spec, fidelity: float, rng: np.random.Generator) -> tuple[Spec, list[str]]:
    """What the generator actually draws: each element survives with probability ``fidelity``, else is swapped or dropped."""
    missing: list[str] = []
    things = []
    for thing in spec.things:
        drawn = _realise_thing(thing, fidelity, rng)
        if drawn.count == 0:
            missing += [f"shape:{thing.shape}", f"colour:{thing.colour}", f"count:{thing.count}"]
            continue
        missing += [f"shape:{thing.shape}"] * (drawn.shape != thing.shape)
        missing += [f"colour:{thing.colour}"] * (drawn.colour != thing.colour)
        missing += [f"count:{thing.count}"] * (drawn.count != thing.count)
        things.append(drawn)
    background = spec.background
    if background != "plain" and rng.random() > fidelity:
        missing.append(f"background:{background}")
        background = _other(PLACES, background, rng)
    modifiers = tuple(m for m in spec.modifiers if rng.random() <= fidelity)
    missing += [f"modifier:{m}" for m in spec.modifiers if m not in modifiers]
    style = spec.style if spec.style is None or rng.random() <= fidelity else None
    missing += [f"style:{spec.style}"] * (style != spec.style)
    return Spec(tuple(things), background, modifiers, style), missing


def _realise_thing(thing: Thing, fidelity: float, rng: np.random.Generator) -> Thing:
    """One object kind as drawn: shape or colour swapped, count off by one (a single object may vanish)."""
    shape = thing.shape if rng.random() <= fidelity else _other(SHAPES, thing.shape, rng)
    colour = thing.colour if rng.random() <= fidelity else _other(COLOURS, thing.colour, rng)
    count = thing.count
    if rng.random() > fidelity:
        count += 1 if rng.random() < 0.5 else -1
    return Thing(count, colour, shape)
