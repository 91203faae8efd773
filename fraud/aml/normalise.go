package aml

import (
	"strings"
	"unicode"
)

// fold maps accented Latin letters to their base letter (the subset
// names from the list and from KYC records use; anything else that is
// not a-z is a separator).
var fold = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ā': "a", 'ă': "a", 'ą': "a",
	'ç': "c", 'ć': "c", 'č': "c", 'ď': "d", 'đ': "d", 'ḍ': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ė': "e", 'ę': "e", 'ě': "e",
	'ğ': "g", 'ḥ': "h", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ī': "i", 'ı': "i",
	'ñ': "n", 'ń': "n", 'ň': "n", 'ṇ': "n", 'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ō': "o", 'ő': "o",
	'ř': "r", 'ṛ': "r", 'ś': "s", 'š': "s", 'ş': "s", 'ṣ': "s", 'ß': "ss", 'ť': "t", 'ṭ': "t", 'ţ': "t",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ū': "u", 'ů': "u", 'ű': "u", 'ý': "y", 'ÿ': "y", 'ž': "z", 'ź': "z", 'ż': "z", 'ẓ': "z",
	'æ': "ae", 'œ': "oe", 'þ': "th",
}

// particles carry no identity: honorifics and the article and kinship
// words of Arabic and Persian names as transliterated.
var particles = map[string]bool{
	"al": true, "el": true, "ul": true, "bin": true, "ben": true, "ibn": true, "bint": true, "abu": true,
	"haj": true, "haji": true, "hajji": true, "sayed": true, "sayyid": true, "syed": true, "seyed": true, "sayyed": true,
	"mr": true, "mrs": true, "ms": true, "dr": true, "shri": true, "smt": true, "sri": true,
}

// digraphs: spellings of one sound in the common romanisations, folded
// to one (the order matters: longer first).
var digraphs = []struct{ from, to string }{
	{"kh", "k"}, {"gh", "g"}, {"ph", "f"}, {"th", "t"}, {"dh", "d"}, {"sh", "s"}, {"ch", "c"}, {"zh", "z"},
	{"ck", "k"}, {"qu", "k"}, {"ee", "i"}, {"ie", "i"}, {"oo", "u"}, {"ou", "u"},
}

// letters: single letters whose variants alternate in transliteration
// (Qasem/Kasim, Yahya/Iahia, Hossein/Husain, Mohammad/Muhammad).
var letters = map[byte]byte{'q': 'k', 'c': 'k', 'y': 'i', 'w': 'v', 'z': 's', 'o': 'u', 'e': 'i'}

// Normalise folds a name to the form the matcher compares: lower-case
// a-z words separated by single spaces, accents dropped, particles and
// honorifics dropped, transliteration variants folded (digraphs, q/k,
// y/i, vowels o/u and e/i, doubled letters), and the silent h after a
// vowel dropped. Idempotent: Normalise(Normalise(x)) == Normalise(x).
func Normalise(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case fold[r] != "":
			b.WriteString(fold[r])
		case r == '\'' || r == '’' || r == '`' || r == 'ʿ' || r == 'ʼ':
			// an apostrophe inside a name joins it (Ma'mun)
		case unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsDigit(r) || r < 128:
			b.WriteByte(' ')
		default:
			b.WriteByte(' ') // other scripts: not read (the list's names are in Latin letters)
		}
	}
	var words []string
	for _, w := range strings.Fields(b.String()) {
		if particles[w] {
			continue
		}
		// a word that folds to a particle ("mz" to "ms") is one too, or a
		// second Normalise would drop what the first kept
		if w = foldWord(w); w != "" && !particles[w] {
			words = append(words, w)
		}
	}
	return strings.Join(words, " ")
}

func foldWord(w string) string {
	for _, d := range digraphs {
		w = strings.ReplaceAll(w, d.from, d.to)
	}
	out := make([]byte, 0, len(w))
	for i := 0; i < len(w); i++ {
		c := w[i]
		if m, ok := letters[c]; ok {
			c = m
		}
		// a silent h after a vowel (Mohammad, Rahim stays: h before a vowel)
		if c == 'h' && len(out) > 0 && isVowel(out[len(out)-1]) && (i+1 == len(w) || !isVowel(w[i+1])) {
			continue
		}
		if len(out) > 0 && out[len(out)-1] == c {
			continue // doubled letters
		}
		out = append(out, c)
	}
	// folding can make new digraphs; one more pass settles them
	s := string(out)
	for _, d := range digraphs {
		if strings.Contains(s, d.from) {
			return foldWord(s)
		}
	}
	return s
}

func isVowel(c byte) bool { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' }

// JaroWinkler is the Jaro-Winkler similarity of a and b (prefix scale
// 0.1, prefix up to 4), 1 for equal strings, 0 when nothing matches.
func JaroWinkler(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 && len(rb) == 0 {
		return 1
	}
	if len(ra) == 0 || len(rb) == 0 {
		return 0
	}
	win := max(len(ra), len(rb))/2 - 1
	if win < 0 {
		win = 0
	}
	ma := make([]bool, len(ra))
	mb := make([]bool, len(rb))
	m := 0
	for i := range ra {
		lo, hi := max(0, i-win), min(len(rb), i+win+1)
		for j := lo; j < hi; j++ {
			if !mb[j] && ra[i] == rb[j] {
				ma[i], mb[j] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return 0
	}
	t, k := 0, 0
	for i := range ra {
		if !ma[i] {
			continue
		}
		for !mb[k] {
			k++
		}
		if ra[i] != rb[k] {
			t++
		}
		k++
	}
	fm := float64(m)
	jaro := (fm/float64(len(ra)) + fm/float64(len(rb)) + (fm-float64(t)/2)/fm) / 3
	p := 0
	for p < min(4, len(ra), len(rb)) && ra[p] == rb[p] {
		p++
	}
	return jaro + float64(p)*0.1*(1-jaro)
}
