"""Style profiles: which rules a style favours, which chord colours it uses, how dense and how voiced.

A profile is data, read by the rules (which colours to offer), the scorer (how well a progression
fits) and the assembler (tips and practice ideas). The documented preferences:

- `rule_weights` (0..1): how idiomatic each named rule is in the style; the scorer adds the weight of
  every rule applied, so a bossa nova favours passing diminished chords and a pop song avoids tritone
  substitutions.
- `colours`: per harmonic context (tonic major, other major, minor, dominant resolving to major or to
  minor, substitute dominants, blues dominants, ...) the chord qualities the style reaches for, each
  with a weight. The rules pick a colour at random in proportion to its weight; the scorer rewards it.
- `texture`: affinity (0..1) for chords of each complexity: 0 triads, 1 sevenths, 2 natural
  extensions, 3 altered tensions.
- `density`: the fraction of chords the style typically changes; the scorer prefers results near it.
- `chromatic_penalty`: the cost of each chord outside the key (low in jazz, high in pop).
- `voicings`: preferred guitar voicing types, cheapest first (cost added per voicing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from harmony.errors import FieldError

RULE_NAMES = (
    "style-extension", "secondary-dominant", "tritone-substitution", "related-ii", "passing-diminished",
    "modal-interchange", "backdoor-dominant", "pedal-point", "cadence-colour",
)

Palette = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class StyleProfile:
    """The preferences of one style; see the module docstring for what each field means."""

    name: str
    description: str
    rule_weights: Mapping[str, float]
    colours: Mapping[str, Palette]
    texture: tuple[float, float, float, float]
    density: float
    chromatic_penalty: float
    voicings: Mapping[str, float]
    feel: str
    technique_tips: tuple[str, ...]
    practice_ideas: tuple[str, ...]
    reference_artists: tuple[str, ...] = field(default_factory=tuple)

    def weight(self, rule: str) -> float:
        """How idiomatic `rule` is in this style (0 when the style never uses it)."""
        return self.rule_weights.get(rule, 0.0)

    def palette(self, context: str) -> Palette:
        """The qualities (with weights) this style uses for chords in harmonic `context`."""
        return self.colours.get(context, ())

    def colour_weight(self, context: str, quality: str) -> float:
        """The weight of `quality` in the palette for `context`, 0 if the style does not use it."""
        return dict(self.palette(context)).get(quality, 0.0)


_JAZZ = StyleProfile(
    name="jazz",
    description="swing and bebop harmony: ii-V chains, tritone substitutions, altered dominants",
    rule_weights={"style-extension": 0.9, "secondary-dominant": 0.8, "tritone-substitution": 0.9,
                  "related-ii": 0.9, "passing-diminished": 0.6, "modal-interchange": 0.5,
                  "backdoor-dominant": 0.6, "pedal-point": 0.3, "cadence-colour": 0.9},
    colours={
        "tonic-major": (("maj7", 0.6), ("maj9", 1.0), ("6/9", 0.8), ("maj13", 0.5), ("maj7#11", 0.4)),
        "major": (("maj7", 0.7), ("maj9", 0.8), ("maj7#11", 0.6), ("6/9", 0.4)),
        "tonic-minor": (("m6", 0.7), ("m6/9", 0.6), ("m9", 0.8), ("m(maj7)", 0.5), ("m7", 0.3)),
        "minor": (("m7", 0.6), ("m9", 1.0), ("m11", 0.5)),
        "dominant-to-major": (("7", 0.3), ("9", 0.6), ("13", 1.0), ("7alt", 0.7), ("13b9", 0.5)),
        "dominant-to-minor": (("7b9", 1.0), ("7alt", 0.8), ("7b9b13", 0.7), ("7#9", 0.4)),
        "dominant-sub": (("7#11", 1.0), ("9", 0.6), ("13", 0.6), ("7", 0.3)),
        "dominant-free": (("9", 0.8), ("13", 1.0), ("7#9", 0.3), ("7", 0.3)),
        "half-diminished": (("m7b5", 1.0),),
        "diminished": (("dim7", 1.0),),
        "suspended": (("7sus4", 0.6), ("9sus4", 0.8), ("13sus4", 0.5)),
        "cadence-tonic-major": (("6/9", 1.0), ("maj9", 0.9), ("maj13", 0.5)),
        "cadence-tonic-minor": (("m6/9", 0.8), ("m6", 0.8), ("m(maj7)", 0.6), ("m9", 0.7)),
        "cadence-dominant": (("7alt", 1.0), ("13b9", 0.8), ("13", 0.6), ("7b9", 0.5)),
    },
    texture=(0.1, 0.6, 1.0, 0.8),
    density=0.55,
    chromatic_penalty=0.05,
    voicings={"drop2": 0.0, "shell": 0.05, "drop3": 0.1, "open": 0.8, "triad": 0.9, "power": 2.0},
    feel="medium swing, walking bass feel, four-to-the-bar comping (Freddie Green) or Charleston rhythm",
    technique_tips=(
        "Comp with short, detached chords on beats 2 and 4, or the Charleston rhythm (1 and the and of 2).",
        "Lead with the guide tones: the 3rd and 7th of each chord move by step into the next chord.",
        "Over altered dominants, let the top voice move by half step into the next chord's 9th or 5th.",
    ),
    practice_ideas=(
        "Play only the guide tones (3rd and 7th) through the changes, then add one tension per chord.",
        "Loop each ii-V-I in all three drop-2 inversions on the top four strings.",
        "Record the changes and improvise arpeggios that target the 3rd of each chord on beat 1.",
    ),
    reference_artists=("Jim Hall", "Joe Pass", "Wes Montgomery"),
)

_BOSSA = StyleProfile(
    name="bossa-nova",
    description="Brazilian bossa nova: 6/9 and major-ninth tonics, b9 dominants, chromatic diminished links",
    rule_weights={"style-extension": 0.9, "secondary-dominant": 0.7, "tritone-substitution": 0.6,
                  "related-ii": 0.8, "passing-diminished": 0.8, "modal-interchange": 0.5,
                  "backdoor-dominant": 0.3, "pedal-point": 0.2, "cadence-colour": 0.8},
    colours={
        "tonic-major": (("maj7", 0.8), ("6/9", 1.0), ("maj9", 0.9)),
        "major": (("maj7", 0.8), ("6/9", 0.8), ("maj9", 0.7)),
        "tonic-minor": (("m6", 0.8), ("m9", 0.9), ("m6/9", 0.6)),
        "minor": (("m7", 0.8), ("m9", 1.0)),
        "dominant-to-major": (("9", 0.8), ("13", 0.7), ("7b9", 0.5), ("13b9", 0.5)),
        "dominant-to-minor": (("7b9", 1.0), ("7b9b13", 0.6)),
        "dominant-sub": (("7#11", 0.8), ("9", 0.7), ("13", 0.6)),
        "dominant-free": (("9", 0.7), ("13", 0.6)),
        "half-diminished": (("m7b5", 1.0),),
        "diminished": (("dim7", 1.0),),
        "suspended": (("7sus4", 0.5), ("9sus4", 0.7)),
        "cadence-tonic-major": (("6/9", 1.0), ("maj9", 0.8)),
        "cadence-tonic-minor": (("m6/9", 0.8), ("m9", 0.8), ("m6", 0.7)),
        "cadence-dominant": (("7b9", 1.0), ("13b9", 0.7), ("9", 0.6)),
    },
    texture=(0.05, 0.7, 1.0, 0.6),
    density=0.5,
    chromatic_penalty=0.08,
    voicings={"drop2": 0.1, "shell": 0.0, "drop3": 0.1, "open": 0.7, "triad": 0.9, "power": 2.0},
    feel="bossa nova groove around 130 bpm: thumb on beats 1 and 3 (root and fifth), fingers syncopate",
    technique_tips=(
        "Fingerstyle: the thumb alternates root and fifth on the 5th/6th strings while the fingers pluck "
        "the upper three notes in the syncopated bossa pattern.",
        "Keep the top voice smooth; many bossa changes move only one inner voice by a half step.",
        "Play the b9 of the dominants softly: it is the colour, the 3rd and 7th carry the function.",
    ),
    practice_ideas=(
        "Practise the thumb-only bass line first, then add the upper-voice syncopation at a slow tempo.",
        "Play the progression with drop-3 voicings (bass on the 6th/5th string) for a full solo-guitar sound.",
        "Sing the top note of each voicing while you play to hear the melody inside the chords.",
    ),
    reference_artists=("João Gilberto", "Antonio Carlos Jobim", "Baden Powell"),
)

_NEO_SOUL = StyleProfile(
    name="neo-soul",
    description="neo-soul: lush ninths and elevenths, borrowed chords, slash chords and sus dominants",
    rule_weights={"style-extension": 1.0, "secondary-dominant": 0.5, "tritone-substitution": 0.5,
                  "related-ii": 0.5, "passing-diminished": 0.3, "modal-interchange": 0.8,
                  "backdoor-dominant": 0.6, "pedal-point": 0.7, "cadence-colour": 0.8},
    colours={
        "tonic-major": (("maj9", 1.0), ("maj7", 0.5), ("maj13", 0.7), ("6/9", 0.5), ("maj7#11", 0.6)),
        "major": (("maj9", 1.0), ("maj7#11", 0.7), ("maj7", 0.5)),
        "tonic-minor": (("m9", 1.0), ("m11", 0.9)),
        "minor": (("m9", 0.9), ("m11", 1.0), ("m7", 0.4)),
        "dominant-to-major": (("9", 0.6), ("13", 0.8), ("7#9", 0.5), ("9sus4", 0.7)),
        "dominant-to-minor": (("7#9", 0.8), ("7b9", 0.6), ("7alt", 0.5)),
        "dominant-sub": (("9", 0.8), ("13", 0.7), ("7#11", 0.6)),
        "dominant-free": (("9", 0.8), ("13", 0.8), ("7#9", 0.6)),
        "half-diminished": (("m7b5", 1.0),),
        "diminished": (("dim7", 1.0),),
        "suspended": (("9sus4", 1.0), ("13sus4", 0.8), ("7sus4", 0.5)),
        "cadence-tonic-major": (("maj9", 1.0), ("maj13", 0.8), ("6/9", 0.6)),
        "cadence-tonic-minor": (("m9", 1.0), ("m11", 0.9)),
        "cadence-dominant": (("9sus4", 1.0), ("13sus4", 0.8), ("7#9", 0.6)),
    },
    texture=(0.0, 0.4, 1.0, 0.6),
    density=0.6,
    chromatic_penalty=0.1,
    voicings={"drop2": 0.0, "triad": 0.3, "shell": 0.3, "drop3": 0.2, "open": 0.9, "power": 2.0},
    feel="laid-back groove around 75-90 bpm, behind the beat, with hammer-on embellishments",
    technique_tips=(
        "Play the voicings on the top four strings and add hammer-ons from the 2nd to the 3rd or the 9th.",
        "Slide into chords from a half step below and let them ring; keep the right hand relaxed.",
        "Mute with the fretting hand between chords for the ghosted, percussive neo-soul feel.",
    ),
    practice_ideas=(
        "Loop two bars at 75 bpm and improvise small melodic fills between the chords.",
        "Play each chord as a triad on the top three strings over the bass note, then as the full voicing.",
        "Transpose the progression down a whole step and compare the colour of the open strings.",
    ),
    reference_artists=("D'Angelo", "Erykah Badu", "Tom Misch"),
)

_GOSPEL = StyleProfile(
    name="gospel",
    description="gospel: secondary dominants everywhere, passing diminished chords, 13ths and slash chords",
    rule_weights={"style-extension": 0.9, "secondary-dominant": 1.0, "tritone-substitution": 0.4,
                  "related-ii": 0.6, "passing-diminished": 0.9, "modal-interchange": 0.7,
                  "backdoor-dominant": 0.4, "pedal-point": 0.8, "cadence-colour": 0.9},
    colours={
        "tonic-major": (("maj9", 0.7), ("6/9", 0.6), ("maj7", 0.5), ("add9", 0.5)),
        "major": (("maj7", 0.6), ("maj9", 0.7), ("6", 0.5)),
        "tonic-minor": (("m9", 0.8), ("m7", 0.6)),
        "minor": (("m7", 0.6), ("m9", 0.8), ("m11", 0.7)),
        "dominant-to-major": (("13", 1.0), ("7#5", 0.6), ("13b9", 0.6), ("9", 0.6)),
        "dominant-to-minor": (("7#5", 0.7), ("7b9", 0.8), ("7#9", 0.6)),
        "dominant-sub": (("9", 0.7), ("13", 0.8)),
        "dominant-free": (("9", 0.7), ("13", 0.9)),
        "half-diminished": (("m7b5", 1.0),),
        "diminished": (("dim7", 1.0),),
        "suspended": (("9sus4", 0.7), ("13sus4", 0.8)),
        "cadence-tonic-major": (("6/9", 0.9), ("maj9", 0.8), ("add9", 0.6)),
        "cadence-tonic-minor": (("m9", 1.0),),
        "cadence-dominant": (("13", 1.0), ("7#5", 0.7), ("13b9", 0.7), ("13sus4", 0.6)),
    },
    texture=(0.1, 0.6, 1.0, 0.8),
    density=0.6,
    chromatic_penalty=0.08,
    voicings={"drop2": 0.0, "drop3": 0.1, "shell": 0.3, "triad": 0.4, "open": 0.8, "power": 2.0},
    feel="slow 12/8 or medium shuffle, big dynamics, chords placed with the choir",
    technique_tips=(
        "Walk the passing diminished chords with the bass: the root moves by half step between chords.",
        "Use slash chords (IV/V) before the tonic for the suspended gospel sound, then resolve.",
        "Swell into the chord with a volume roll or a slow strum across the strings.",
    ),
    practice_ideas=(
        "Practise the 'walk-up' (I - #i°7 - ii7) until the bass line is smooth at any tempo.",
        "Play the progression in 12/8 with a rolled arpeggio on every chord.",
        "Harmonise a hymn melody with the secondary dominants from this progression.",
    ),
    reference_artists=("Kirk Franklin", "Cory Henry", "Richard Smallwood"),
)

_BLUES = StyleProfile(
    name="blues",
    description="blues: dominant sevenths on I, IV and V, ninths and #9, passing diminished in bar 6, turnarounds",
    rule_weights={"style-extension": 1.0, "secondary-dominant": 0.7, "tritone-substitution": 0.4,
                  "related-ii": 0.5, "passing-diminished": 0.7, "modal-interchange": 0.2,
                  "backdoor-dominant": 0.3, "pedal-point": 0.1, "cadence-colour": 0.7},
    colours={
        "tonic-major": (("7", 1.0), ("9", 0.6), ("13", 0.5), ("6", 0.3)),
        "major": (("7", 1.0), ("9", 0.7), ("6", 0.4)),
        "tonic-minor": (("m7", 0.8), ("m9", 0.6), ("m6", 0.5)),
        "minor": (("m7", 0.8), ("m9", 0.6)),
        "dominant-to-major": (("7", 0.5), ("9", 0.8), ("13", 0.6), ("7#9", 0.5)),
        "dominant-to-minor": (("7#9", 0.9), ("7b9", 0.7)),
        "dominant-sub": (("9", 0.8), ("7", 0.6)),
        "dominant-free": (("9", 0.8), ("13", 0.7), ("7#9", 0.6), ("7", 0.6)),
        "half-diminished": (("m7b5", 1.0),),
        "diminished": (("dim7", 1.0),),
        "suspended": (("7sus4", 0.6),),
        "cadence-tonic-major": (("9", 0.8), ("13", 0.7), ("7", 0.6), ("6/9", 0.5)),
        "cadence-tonic-minor": (("m9", 0.8), ("m7", 0.7)),
        "cadence-dominant": (("9", 0.8), ("7#9", 0.8), ("13", 0.6)),
    },
    texture=(0.2, 0.9, 1.0, 0.5),
    density=0.4,
    chromatic_penalty=0.1,
    voicings={"shell": 0.0, "open": 0.3, "power": 0.5, "drop3": 0.8, "drop2": 0.9, "triad": 1.0},
    feel="shuffle or slow blues: swung eighths, accents on 2 and 4",
    technique_tips=(
        "Use three-note shells (root, 3rd, 7th) on the low strings and slide into them from a half step.",
        "In a shuffle, palm-mute the 5th/6th strings and alternate the fifth and sixth of each chord.",
        "End with a turnaround: walk down chromatically into the V chord in the last two bars.",
    ),
    practice_ideas=(
        "Play the 12 bars with shells only, then with 9th chords, and hear the difference.",
        "Practise the quick-change (IV in bar 2) and the passing diminished in bar 6.",
        "Improvise with the chord tones of each dominant, not only the pentatonic scale.",
    ),
    reference_artists=("T-Bone Walker", "B.B. King", "Robben Ford"),
)

_POP = StyleProfile(
    name="pop",
    description="pop: triads and add9 colours, sus chords, borrowed iv and bVII, few chromatic chords",
    rule_weights={"style-extension": 0.8, "secondary-dominant": 0.6, "tritone-substitution": 0.05,
                  "related-ii": 0.2, "passing-diminished": 0.3, "modal-interchange": 0.8,
                  "backdoor-dominant": 0.4, "pedal-point": 0.6, "cadence-colour": 0.6},
    colours={
        "tonic-major": (("", 0.6), ("add9", 1.0), ("maj7", 0.5), ("sus2", 0.5)),
        "major": (("", 0.6), ("add9", 0.8), ("maj7", 0.7), ("sus2", 0.5)),
        "tonic-minor": (("m", 0.6), ("m7", 0.8), ("madd9", 0.7)),
        "minor": (("m", 0.5), ("m7", 1.0), ("madd9", 0.6)),
        "dominant-to-major": (("7", 0.6), ("sus4", 0.7), ("7sus4", 0.8), ("", 0.5)),
        "dominant-to-minor": (("7", 1.0),),
        "dominant-sub": (("7", 0.8),),
        "dominant-free": (("7", 0.8),),
        "half-diminished": (("m7b5", 1.0),),
        "diminished": (("dim7", 1.0), ("dim", 0.6)),
        "suspended": (("sus4", 0.8), ("sus2", 0.6), ("7sus4", 0.5)),
        "cadence-tonic-major": (("add9", 1.0), ("", 0.6), ("sus2", 0.5)),
        "cadence-tonic-minor": (("madd9", 0.8), ("m", 0.6)),
        "cadence-dominant": (("sus4", 0.8), ("7sus4", 0.8), ("7", 0.5)),
    },
    texture=(0.9, 0.8, 0.6, 0.0),
    density=0.3,
    chromatic_penalty=0.5,
    voicings={"open": 0.0, "triad": 0.1, "shell": 0.4, "drop2": 0.4, "drop3": 0.5, "power": 0.6},
    feel="straight eighths, 90-120 bpm, strummed or arpeggiated",
    technique_tips=(
        "Strum down-down-up-up-down-up and keep the strumming hand moving even when you skip strings.",
        "Keep common tones ringing: many pop voicings share the top two strings between chords.",
        "Add the sus4 or add9 with one finger and release it to the plain chord for movement.",
    ),
    practice_ideas=(
        "Play the progression with a capo in two positions and pick the brighter one for your voice.",
        "Arpeggiate each chord (bass, then top strings) and then strum the same pattern.",
        "Write a four-bar melody over the changes using only chord tones on the downbeats.",
    ),
    reference_artists=("John Mayer", "Ed Sheeran", "Taylor Swift"),
)

STYLES: dict[str, StyleProfile] = {profile.name: profile for profile in
                                   (_JAZZ, _BOSSA, _NEO_SOUL, _GOSPEL, _BLUES, _POP)}
STYLE_ALIASES = {
    "jazz": "jazz", "swing": "jazz", "bebop": "jazz", "bossa-nova": "bossa-nova", "bossa": "bossa-nova",
    "bossanova": "bossa-nova", "neo-soul": "neo-soul", "neosoul": "neo-soul", "gospel": "gospel",
    "blues": "blues", "pop": "pop",
}

# Mood and feel keywords -> multipliers on rule weights and texture, and a density shift.
_MOODS: tuple[tuple[tuple[str, ...], dict[str, float], tuple[float, float, float, float], float], ...] = (
    (("dark", "sad", "melanchol", "moody", "somber", "sombre", "wistful", "nostalg", "bittersweet"),
     {"modal-interchange": 1.5, "passing-diminished": 1.2}, (1.0, 1.0, 1.0, 1.1), 0.05),
    (("bright", "happy", "uplift", "joy", "sunny", "hopeful", "cheer"),
     {"modal-interchange": 0.5, "style-extension": 1.1}, (1.1, 1.0, 1.0, 0.7), 0.0),
    (("tense", "myster", "suspense", "dramatic", "edgy", "anxious"),
     {"tritone-substitution": 1.4, "passing-diminished": 1.4}, (1.0, 1.0, 1.0, 1.3), 0.05),
    (("chill", "relax", "mellow", "smooth", "dream", "lush", "calm", "warm", "romantic"),
     {"style-extension": 1.2, "pedal-point": 1.3}, (0.9, 1.0, 1.2, 0.9), 0.0),
    (("simple", "minimal", "sparse", "gentle", "subtle"), {}, (1.2, 1.0, 0.9, 0.6), -0.15),
    (("rich", "complex", "adventur", "colou", "color", "sophisticat", "spicy", "bold"),
     {"tritone-substitution": 1.2}, (0.8, 1.0, 1.1, 1.2), 0.15),
)


def normalise_style_name(text: str) -> str | None:
    """The canonical style name for `text` (case, spaces, `_` and `-` ignored), None if unknown."""
    key = re.sub(r"[\s_]+", "-", text.strip().lower())
    return STYLE_ALIASES.get(key) or STYLE_ALIASES.get(key.replace("-", ""))


def get_style(text: str, field_name: str = "style") -> StyleProfile:
    """The profile named `text`; raise FieldError listing the allowed styles otherwise."""
    name = normalise_style_name(text)
    if name is None:
        raise FieldError(field_name, f"unknown style {text!r}", allowed=sorted(STYLES))
    return STYLES[name]


def with_mood(style: StyleProfile, *texts: str | None) -> StyleProfile:
    """The profile adjusted by mood / feel keywords found in `texts` (e.g. "dark and lush")."""
    words = " ".join(t.lower() for t in texts if t)
    if not words:
        return style
    weights = dict(style.rule_weights)
    texture = list(style.texture)
    density = style.density
    for stems, multipliers, texture_factors, shift in _MOODS:
        if not any(stem in words for stem in stems):
            continue
        for rule, factor in multipliers.items():
            weights[rule] = min(1.5, weights.get(rule, 0.0) * factor)
        texture = [value * factor for value, factor in zip(texture, texture_factors, strict=True)]
        density += shift
    density = min(0.9, max(0.1, density))
    return replace(style, rule_weights=weights,
                   texture=(texture[0], texture[1], texture[2], texture[3]), density=density)


def mood_keywords(*texts: str | None) -> list[str]:
    """The mood stems recognised in `texts`, for the summary ("dark", "lush" ...)."""
    words = " ".join(t.lower() for t in texts if t)
    found: list[str] = []
    for stems, _, _, _ in _MOODS:
        found.extend(stem for stem in stems if stem in words)
    return found
