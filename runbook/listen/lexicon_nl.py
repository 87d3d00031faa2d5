"""A small Dutch sentiment lexicon (valence -4..+4, VADER's scale) for social posts about a brand.

Written for this project and released under the project's own licence; no third-party word list
was copied. Kept as a Python module so it ships with the package without package-data settings.
Extend it, or plug in a better analyser (docs/listening.md, "Sentiment").
"""

from __future__ import annotations

_WORDS = """
schandalig -3.2
schande -3.0
walgelijk -3.4
smerig -2.8
vies -2.2
belachelijk -2.4
idioot -2.6
dom -2.0
stom -2.0
stomme -2.0
afgang -2.6
afschuwelijk -3.2
verschrikkelijk -3.0
vreselijk -2.9
waardeloos -2.8
slecht -2.3
slechte -2.3
slechtste -3.0
teleurgesteld -2.2
teleurstellend -2.2
teleurstelling -2.2
boos -2.4
woedend -3.2
kwaad -2.4
irritant -1.9
ergerlijk -2.0
ergernis -1.9
beschamend -2.8
gênant -2.0
genant -2.0
pijnlijk -1.8
respectloos -2.7
onacceptabel -2.8
onbeschoft -2.5
kwetsend -2.6
beledigend -2.8
grof -2.0
ongepast -2.3
ongelooflijk -1.0
fout -1.9
fouten -1.7
blunder -2.1
flater -2.1
mislukt -2.0
faal -2.0
falen -2.0
fail -2.0
epic -0.5
klacht -1.5
klachten -1.5
probleem -1.4
problemen -1.4
opzeggen -1.6
zeg -0.2
boycot -2.4
nooit -0.6
rampzalig -3.0
ramp -2.7
drama -1.8
chaos -1.9
shit -2.2
kut -2.6
klote -2.4
wtf -2.0
bah -1.8
jakkes -2.0
nee -0.6
helaas -1.2
jammer -1.3
zorgen -1.2
bezorgd -1.4
bang -1.9
eng -1.6
gevaarlijk -2.2
misbruik -3.0
geweld -3.0
huiselijk -0.4
slachtoffer -2.2
slachtoffers -2.2
pornografisch -2.6
porno -2.4
dronken -1.4
zuipen -1.2
onprofessioneel -2.4
amateuristisch -2.2
lachwekkend -1.6
triest -2.0
treurig -2.0
zielig -1.6
verdrietig -2.2
schokkend -2.6
geschokt -2.4
verbijsterd -2.0
ongehoord -2.5
wanprestatie -2.6
oplichting -3.0
leugen -2.4
liegen -2.4
gelogen -2.4
nep -1.8
excuses 0.6
excuus 0.5
sorry 0.4
oplossen 0.8
opgelost 1.4
oplossing 1.1
hopelijk 0.6
hoop 0.8
eerlijk 1.6
netjes 1.5
prima 1.6
goed 1.9
goede 1.9
beter 1.5
best 1.8
beste 2.0
mooi 2.0
mooie 2.0
prachtig 2.8
geweldig 3.0
fantastisch 3.1
super 2.4
top 2.2
toppie 2.2
leuk 1.9
leuke 1.9
grappig 1.6
lachen 1.5
haha 1.7
hahaha 1.9
lol 1.5
blij 2.2
gelukkig 2.3
tevreden 2.0
dank 1.8
dankjewel 2.1
bedankt 2.0
bedankje 1.6
fijn 2.0
fijne 2.0
sterk 1.3
knap 1.8
respect 1.9
waardering 1.9
steun 1.6
steunen 1.6
trots 2.0
helpen 1.2
geholpen 1.6
behulpzaam 1.9
vriendelijk 2.0
sympathiek 1.9
menselijk 1.2
begrijpelijk 1.0
kan_gebeuren 1.2
kan_niet -1.9
het_zwaar -0.8
gebeurt 0.2
liefde 2.6
hart 1.0
schatje 1.4
geniaal 2.8
briljant 2.9
perfect 2.7
aanrader 2.3
verrassend 1.2
keurig 1.8
vervelend -1.8
vervelende -1.8
foutmelding -1.4
lauw -0.8
verkeerd -1.2
verkeerde -1.2
behulpzame 1.9
supersnel 1.8
heerlijk 2.5
heerlijke 2.5
lekker 1.8
lekkere 1.8
lekkerste 2.4
vriendelijke 2.0
complimenten 2.2
compliment 2.0
comfortabel 1.6
snel 0.6
snelle 1.0
snelste 1.4
aardig 1.6
aardige 1.6
chapeau 2.2
dankbaar 2.2
uitstekend 2.8
uitstekende 2.8
onbeschofte -2.5
verspild -1.8
verspilling -1.8
kapot -1.8
stuk -0.6
storing -1.5
vertraging -1.4
vertraagd -1.4
geannuleerd -1.6
kwijt -1.4
onbereikbaar -1.8
teleurgestelde -2.2
ontevreden -2.2
verbrand -1.4
koud -0.8
koude -0.8
ellende -2.4
ellendig -2.4
klaar_mee -2.0
😡 -3.0
😠 -2.6
🤬 -3.4
🤦 -1.5
🙄 -1.4
😬 -1.0
😳 -0.8
💀 -0.6
👀 -0.2
😂 0.8
😅 0.4
🙏 1.4
❤️ 2.6
❤ 2.6
👍 1.9
🍕 0.0
🍺 0.2
"""

LEXICON: dict[str, float] = {
    word: float(value) for word, value in (line.split() for line in _WORDS.strip().splitlines())
}

NEGATIONS = frozenset({"niet", "geen", "nooit", "niets", "nergens", "niemand", "allerminst"})
# Multipliers that strengthen or soften the next sentiment word.
BOOSTERS: dict[str, float] = {
    "echt": 0.29,
    "heel": 0.29,
    "zeer": 0.29,
    "erg": 0.29,
    "super": 0.29,
    "enorm": 0.33,
    "ontzettend": 0.33,
    "vreselijk": 0.33,
    "zo": 0.2,
    "totaal": 0.29,
    "compleet": 0.29,
    "extreem": 0.33,
    "nogal": -0.2,
    "beetje": -0.29,
    "redelijk": -0.2,
    "vrij": -0.15,
    "enigszins": -0.29,
}
# Expressions scored as one token: (pattern over the lower-cased text, token in the lexicon).
PHRASES: list[tuple[str, str]] = [
    (r"\bkan (?:echt |gewoon |écht |toch )?niet\b", "kan_niet"),  # "dit kan echt niet": unacceptable
    (r"\bkan (?:gebeuren|gebeurd)\b", "kan_gebeuren"),
    (r"\bhet zwaar\b", "het_zwaar"),
    (r"\bklaar mee\b", "klaar_mee"),  # "ik ben er klaar mee": fed up
]
