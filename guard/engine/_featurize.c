/*
 * The semantic model's feature sums for ASCII views, in one C pass.
 *
 * guard/engine/semantic.py scores a view by looking up its distinct characters, 3-grams,
 * tokens and token pairs in the model's weight tables and adding the quantised weights of
 * every class. In Python that is a dict lookup and a big-integer addition per feature, which
 * was two thirds of the model's cost. This module does the same lookups in flat tables and
 * returns the same integer sums, so a verdict is identical with or without it (the tests
 * compare both paths); the package falls back to the Python path where it was not compiled.
 *
 * Scorer(n_classes, chars, trigrams, tokens, keys, structure, bias, multiplier, denominator
 *        [, needles])
 *   chars:     [(code point < 128, weights)]
 *   trigrams:  [(key, weights)]   key: the 3 bytes then a zero byte, read as a native uint32
 *   tokens:    [(ascii bytes, weights)]   a pair of tokens is spelled "first second"
 *   keys:      [(str, mask)]   a character or a word whose presence makes the structure
 *              features in mask (bit i: feature i) candidates
 *   structure: [weights]   per structure feature, at most 64
 *   bias:      n_classes - 1 floats, each attack class's bias minus the benign one
 *   needles:   per structure feature, a tuple of bytes of which every match holds one
 *              (empty: no such list)
 *   weights:   a sequence of n_classes ints (weights quantised by the caller)
 *
 * Scorer.score(view, token_view[, patterns_read]) -> None for a non-ASCII view, else
 *   (ngram sums, distinct chars + distinct 3-grams of "\x02" view "\x03",
 *    token sums, distinct tokens + distinct token pairs of token_view, candidate mask);
 *   the candidates are those a key found, less those with needles none of which the ASCII
 *   text the patterns read (patterns_read) holds
 * Scorer.relative(ngram sums, ngram count, token sums, token count, structure mask)
 *   -> each attack class's log-odds against benign, computed as semantic.py computes them
 *   (the same integers, then the same double operations in the same order).
 * Tokens follow semantic._TOKEN, r"[a-z_]+|0|\n|[^\w\s]", on ASCII text.
 *
 * ProseReader counts the tokens by which detector.py tells prose from a payload (see below).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CLASSES 32
#define EMPTY_GRAM 0xFFFFFFFFu /* a key's top byte is always zero */

typedef struct {
    uint32_t key;
    int32_t row;
} GramSlot;

typedef struct {
    uint64_t hash;
    uint32_t offset; /* into pool */
    uint32_t length;
    int32_t row;     /* -1: not a feature (a key word only) */
    uint64_t mask;   /* structure features this word is a key of */
} TokenSlot;

typedef struct {
    PyObject_HEAD
    int classes;
    int32_t char_row[128];
    int32_t *weights;  /* rows x classes: chars and 3-grams first, then tokens */
    Py_ssize_t rows;
    GramSlot *grams;
    uint32_t gram_mask;
    TokenSlot *tokens;
    uint32_t token_mask;
    char *pool;
    uint64_t char_mask[128];
    int structures;
    int32_t structure[64 * MAX_CLASSES];
    PyObject *needles; /* per structure feature, a tuple of bytes (empty: none), or NULL */
    double bias[MAX_CLASSES];
    long long multiplier;
    double denominator;
} Scorer;

/* Character classes of semantic._TOKEN over ASCII. */
enum { C_SKIP, C_SPACE, C_WORD, C_ZERO, C_NEWLINE, C_MARK };
static unsigned char char_class[128];

static void init_char_class(void) {
    for (int c = 0; c < 128; c++) {
        if ((c >= 'a' && c <= 'z') || c == '_')
            char_class[c] = C_WORD;
        else if (c == '0')
            char_class[c] = C_ZERO;
        else if (c == '\n')
            char_class[c] = C_NEWLINE;
        /* Python's \s for str patterns: these, and \x1c-\x1f. */
        else if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' ||
                 (c >= 0x1c && c <= 0x1f))
            char_class[c] = C_SPACE;
        else if ((c >= 'A' && c <= 'Z') || (c >= '1' && c <= '9'))
            char_class[c] = C_SKIP; /* \w, but not a token */
        else
            char_class[c] = C_MARK;
    }
}

static inline uint64_t fnv(uint64_t h, const char *s, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#define FNV_START 14695981039346656037ULL

static inline uint32_t mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

static uint32_t table_size(Py_ssize_t n) {
    uint32_t size = 16;
    while (size < (uint64_t)n * 2 + 2)
        size <<= 1;
    return size;
}

/* One weight per class from the sequence vector into dest (the model's rows and its structure
 * features alike): each a quantised int within 2**24. */
static int read_vector(const Scorer *self, PyObject *vector, int32_t *dest) {
    PyObject *seq = PySequence_Fast(vector, "weights must be a sequence");
    if (seq == NULL)
        return -1;
    if (PySequence_Fast_GET_SIZE(seq) != self->classes) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "weights length does not match the classes");
        return -1;
    }
    for (int k = 0; k < self->classes; k++) {
        long value = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, k));
        if (value == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        if (value < -(1L << 24) || value > (1L << 24)) {
            Py_DECREF(seq);
            PyErr_SetString(PyExc_ValueError, "weight out of range");
            return -1;
        }
        dest[k] = (int32_t)value;
    }
    Py_DECREF(seq);
    return 0;
}

static inline int32_t *row_weights(const Scorer *self, Py_ssize_t row) {
    return self->weights + row * self->classes;
}

static TokenSlot *token_find(Scorer *self, uint64_t hash, const char *a, Py_ssize_t la,
                             const char *b, Py_ssize_t lb) {
    /* The token a (lb < 0) or the pair "a b"; NULL when absent. */
    Py_ssize_t length = lb < 0 ? la : la + 1 + lb;
    uint32_t i = (uint32_t)(hash ^ (hash >> 32)) & self->token_mask;
    for (;;) {
        TokenSlot *slot = &self->tokens[i];
        if (slot->length == 0)
            return NULL;
        if (slot->hash == hash && slot->length == (uint32_t)length) {
            const char *p = self->pool + slot->offset;
            if (memcmp(p, a, la) == 0 &&
                (lb < 0 || (p[la] == ' ' && memcmp(p + la + 1, b, lb) == 0)))
                return slot;
        }
        i = (i + 1) & self->token_mask;
    }
}

static TokenSlot *token_insert(Scorer *self, const char *s, Py_ssize_t n, Py_ssize_t *used) {
    uint64_t hash = fnv(FNV_START, s, n);
    TokenSlot *found = token_find(self, hash, s, n, NULL, -1);
    if (found != NULL)
        return found;
    uint32_t i = (uint32_t)(hash ^ (hash >> 32)) & self->token_mask;
    while (self->tokens[i].length != 0)
        i = (i + 1) & self->token_mask;
    TokenSlot *slot = &self->tokens[i];
    memcpy(self->pool + *used, s, n);
    slot->hash = hash;
    slot->offset = (uint32_t)*used;
    slot->length = (uint32_t)n;
    slot->row = -1;
    slot->mask = 0;
    *used += n;
    return slot;
}

static void Scorer_dealloc(Scorer *self) {
    PyMem_Free(self->weights);
    PyMem_Free(self->grams);
    PyMem_Free(self->tokens);
    PyMem_Free(self->pool);
    Py_XDECREF(self->needles);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Scorer_init(Scorer *self, PyObject *args, PyObject *kwds) {
    int classes;
    long long multiplier, denominator;
    PyObject *chars, *trigrams, *tokens, *keys, *structure, *bias, *needles = NULL;
    static char *keywords[] = {"classes", "chars", "trigrams", "tokens", "keys", "structure",
                               "bias", "multiplier", "denominator", "needles", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iO!O!O!O!O!O!LL|O!", keywords, &classes,
                                     &PyList_Type, &chars, &PyList_Type, &trigrams,
                                     &PyList_Type, &tokens, &PyList_Type, &keys, &PyList_Type,
                                     &structure, &PyList_Type, &bias, &multiplier, &denominator,
                                     &PyList_Type, &needles))
        return -1;
    if (self->weights != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scorer is already initialised");
        return -1;
    }
    if (classes < 1 || classes > MAX_CLASSES) {
        PyErr_SetString(PyExc_ValueError, "bad number of classes");
        return -1;
    }
    if (PyList_GET_SIZE(structure) > 64 || PyList_GET_SIZE(bias) != classes - 1 ||
        multiplier < 1 || multiplier > (1LL << 20) || denominator < 1) {
        PyErr_SetString(PyExc_ValueError, "bad structure, bias or scale");
        return -1;
    }
    self->classes = classes;
    self->structures = (int)PyList_GET_SIZE(structure);
    self->multiplier = multiplier;
    self->denominator = (double)denominator;
    for (int k = 0; k + 1 < classes; k++) {
        self->bias[k] = PyFloat_AsDouble(PyList_GET_ITEM(bias, k));
        if (self->bias[k] == -1.0 && PyErr_Occurred())
            return -1;
    }
    Py_ssize_t n_chars = PyList_GET_SIZE(chars), n_grams = PyList_GET_SIZE(trigrams);
    Py_ssize_t n_tokens = PyList_GET_SIZE(tokens), n_keys = PyList_GET_SIZE(keys);
    self->rows = n_chars + n_grams + n_tokens;
    self->weights = PyMem_Calloc(self->rows ? self->rows : 1, sizeof(int32_t) * classes);
    self->gram_mask = table_size(n_grams) - 1;
    self->grams = PyMem_Malloc(sizeof(GramSlot) * (self->gram_mask + 1));
    self->token_mask = table_size(n_tokens + n_keys) - 1;
    self->tokens = PyMem_Calloc(self->token_mask + 1, sizeof(TokenSlot));
    Py_ssize_t pool_size = 1;
    for (Py_ssize_t i = 0; i < n_tokens; i++) {
        PyObject *key = PyTuple_Check(PyList_GET_ITEM(tokens, i))
                            ? PyTuple_GET_ITEM(PyList_GET_ITEM(tokens, i), 0)
                            : NULL;
        if (key == NULL || !PyBytes_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "tokens must be (bytes, weights) pairs");
            return -1;
        }
        pool_size += PyBytes_GET_SIZE(key);
    }
    for (Py_ssize_t i = 0; i < n_keys; i++) {
        PyObject *pair = PyList_GET_ITEM(keys, i);
        PyObject *word = PyTuple_Check(pair) && PyTuple_GET_SIZE(pair) == 2
                             ? PyTuple_GET_ITEM(pair, 0)
                             : NULL;
        if (word == NULL || !PyUnicode_Check(word) || !PyUnicode_IS_ASCII(word) ||
            PyUnicode_GET_LENGTH(word) == 0) {
            PyErr_SetString(PyExc_TypeError, "keys must be (ASCII str, mask) pairs");
            return -1;
        }
        pool_size += PyUnicode_GET_LENGTH(word);
    }
    self->pool = PyMem_Malloc(pool_size);
    if (self->weights == NULL || self->grams == NULL || self->tokens == NULL ||
        self->pool == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (int c = 0; c < 128; c++)
        self->char_row[c] = -1;
    for (uint32_t i = 0; i <= self->gram_mask; i++)
        self->grams[i].key = EMPTY_GRAM;

    Py_ssize_t row = 0;
    for (Py_ssize_t i = 0; i < n_chars; i++, row++) {
        long code;
        PyObject *vector;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(chars, i), "lO", &code, &vector))
            return -1;
        if (code < 0 || code >= 128) {
            PyErr_SetString(PyExc_ValueError, "chars must be ASCII code points");
            return -1;
        }
        if (read_vector(self, vector, row_weights(self, row)) < 0)
            return -1;
        self->char_row[code] = (int32_t)row;
    }
    for (Py_ssize_t i = 0; i < n_grams; i++, row++) {
        unsigned long key;
        PyObject *vector;
        if (!PyArg_ParseTuple(PyList_GET_ITEM(trigrams, i), "kO", &key, &vector))
            return -1;
        if (key > 0xFFFFFFFFUL || key == EMPTY_GRAM) {
            PyErr_SetString(PyExc_ValueError, "a 3-gram key has 3 bytes");
            return -1;
        }
        if (read_vector(self, vector, row_weights(self, row)) < 0)
            return -1;
        uint32_t k = (uint32_t)key, j = mix32(k) & self->gram_mask;
        while (self->grams[j].key != EMPTY_GRAM && self->grams[j].key != k)
            j = (j + 1) & self->gram_mask;
        self->grams[j].key = k;
        self->grams[j].row = (int32_t)row;
    }
    Py_ssize_t used = 0;
    for (Py_ssize_t i = 0; i < n_tokens; i++, row++) {
        PyObject *key = PyTuple_GET_ITEM(PyList_GET_ITEM(tokens, i), 0);
        PyObject *vector = PyTuple_GET_SIZE(PyList_GET_ITEM(tokens, i)) == 2
                               ? PyTuple_GET_ITEM(PyList_GET_ITEM(tokens, i), 1)
                               : NULL;
        if (vector == NULL || PyBytes_GET_SIZE(key) == 0) {
            PyErr_SetString(PyExc_ValueError, "tokens must be non-empty (bytes, weights) pairs");
            return -1;
        }
        if (read_vector(self, vector, row_weights(self, row)) < 0)
            return -1;
        TokenSlot *slot = token_insert(self, PyBytes_AS_STRING(key), PyBytes_GET_SIZE(key), &used);
        slot->row = (int32_t)row;
    }
    for (Py_ssize_t i = 0; i < n_keys; i++) {
        PyObject *word = PyTuple_GET_ITEM(PyList_GET_ITEM(keys, i), 0);
        unsigned long long mask = PyLong_AsUnsignedLongLong(
            PyTuple_GET_ITEM(PyList_GET_ITEM(keys, i), 1));
        if (mask == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        Py_ssize_t n = PyUnicode_GET_LENGTH(word);
        const char *text = (const char *)PyUnicode_DATA(word);
        if (n == 1) {
            /* A character key: present when the view holds the character. */
            self->char_mask[(unsigned char)text[0]] |= mask;
            continue;
        }
        TokenSlot *slot = token_insert(self, text, n, &used);
        slot->mask |= mask;
    }
    for (int f = 0; f < self->structures; f++) {
        if (read_vector(self, PyList_GET_ITEM(structure, f),
                        self->structure + f * MAX_CLASSES) < 0)
            return -1;
    }
    if (needles != NULL) {
        if (PyList_GET_SIZE(needles) != self->structures) {
            PyErr_SetString(PyExc_ValueError, "one needle tuple per structure feature");
            return -1;
        }
        for (int f = 0; f < self->structures; f++) {
            PyObject *tuple = PyList_GET_ITEM(needles, f);
            if (!PyTuple_Check(tuple)) {
                PyErr_SetString(PyExc_TypeError, "needles must be tuples of bytes");
                return -1;
            }
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(tuple); i++) {
                PyObject *needle = PyTuple_GET_ITEM(tuple, i);
                if (!PyBytes_Check(needle) || PyBytes_GET_SIZE(needle) == 0) {
                    PyErr_SetString(PyExc_TypeError, "needles must be non-empty bytes");
                    return -1;
                }
            }
        }
        Py_INCREF(needles);
        self->needles = needles;
    }
    return 0;
}

static int holds_needle(const unsigned char *text, Py_ssize_t n, PyObject *needle) {
    const unsigned char *want = (const unsigned char *)PyBytes_AS_STRING(needle);
    Py_ssize_t m = PyBytes_GET_SIZE(needle);
    for (Py_ssize_t i = 0; i + m <= n;) {
        const unsigned char *at = memchr(text + i, want[0], (size_t)(n - m - i + 1));
        if (at == NULL)
            return 0;
        if (memcmp(at, want, (size_t)m) == 0)
            return 1;
        i = at - text + 1;
    }
    return 0;
}

/* Drop the candidates none of whose needles (substrings every match of the feature's
 * pattern holds) occurs in the ASCII text the patterns read. */
static uint64_t with_needles(const Scorer *self, uint64_t candidates, const unsigned char *text,
                             Py_ssize_t n) {
    uint64_t kept = candidates;
    for (int f = 0; f < self->structures; f++) {
        uint64_t bit = (uint64_t)1 << f;
        if (!(candidates & bit))
            continue;
        PyObject *tuple = PyList_GET_ITEM(self->needles, f);
        Py_ssize_t count = PyTuple_GET_SIZE(tuple);
        if (count == 0)
            continue;
        int found = 0;
        for (Py_ssize_t i = 0; i < count && !found; i++)
            found = holds_needle(text, n, PyTuple_GET_ITEM(tuple, i));
        if (!found)
            kept ^= bit;
    }
    return kept;
}

static inline void add_row(const Scorer *self, int64_t *sums, int32_t row) {
    const int32_t *w = row_weights(self, row);
    for (int k = 0; k < self->classes; k++)
        sums[k] += w[k];
}

static PyObject *sums_tuple(const int64_t *sums, int classes) {
    PyObject *tuple = PyTuple_New(classes);
    if (tuple == NULL)
        return NULL;
    for (int k = 0; k < classes; k++) {
        PyObject *value = PyLong_FromLongLong(sums[k]);
        if (value == NULL) {
            Py_DECREF(tuple);
            return NULL;
        }
        PyTuple_SET_ITEM(tuple, k, value);
    }
    return tuple;
}

/* Distinct characters and 3-grams of "\x02" view "\x03". */
static int score_ngrams(const Scorer *self, const unsigned char *view, Py_ssize_t n,
                        int64_t *sums, Py_ssize_t *distinct, uint64_t *candidates) {
    Py_ssize_t padded_length = n + 2;
    unsigned char *padded = PyMem_Malloc(padded_length);
    uint32_t seen_size = table_size(padded_length);
    uint32_t *seen = PyMem_Malloc(sizeof(uint32_t) * seen_size);
    if (padded == NULL || seen == NULL) {
        PyMem_Free(padded);
        PyMem_Free(seen);
        PyErr_NoMemory();
        return -1;
    }
    padded[0] = 0x02;
    memcpy(padded + 1, view, n);
    padded[n + 1] = 0x03;
    uint64_t present[2] = {0, 0};
    for (Py_ssize_t i = 0; i < padded_length; i++)
        present[padded[i] >> 6] |= 1ULL << (padded[i] & 63);
    Py_ssize_t count = 0;
    for (int c = 0; c < 128; c++) {
        if (present[c >> 6] >> (c & 63) & 1) {
            count++;
            *candidates |= self->char_mask[c];
            if (self->char_row[c] >= 0)
                add_row(self, sums, self->char_row[c]);
        }
    }
    /* The view folds CR into LF, so a LF there may have been a CR in the text. */
    if (present[0] >> '\n' & 1)
        *candidates |= self->char_mask['\r'];
    memset(seen, 0xFF, sizeof(uint32_t) * seen_size);
    uint32_t seen_mask = seen_size - 1;
    for (Py_ssize_t i = 0; i + 3 <= padded_length; i++) {
        unsigned char record[4] = {padded[i], padded[i + 1], padded[i + 2], 0};
        uint32_t key;
        memcpy(&key, record, 4);
        uint32_t h = mix32(key), j = h & seen_mask;
        while (seen[j] != EMPTY_GRAM && seen[j] != key)
            j = (j + 1) & seen_mask;
        if (seen[j] == key)
            continue;
        seen[j] = key;
        count++;
        j = h & self->gram_mask;
        while (self->grams[j].key != EMPTY_GRAM) {
            if (self->grams[j].key == key) {
                add_row(self, sums, self->grams[j].row);
                break;
            }
            j = (j + 1) & self->gram_mask;
        }
    }
    PyMem_Free(padded);
    PyMem_Free(seen);
    *distinct = count;
    return 0;
}

typedef struct {
    Py_ssize_t start, length;
    uint64_t hash;
} Token;

typedef struct {
    int32_t first, second; /* token indices; second -1 for a single token */
} SeenEntry;

/* Distinct tokens and token pairs of view; the structure features their words are keys of. */
static int score_tokens(const Scorer *self, const char *view, Py_ssize_t n, int64_t *sums,
                        Py_ssize_t *distinct, uint64_t *candidates) {
    Token *tokens = PyMem_Malloc(sizeof(Token) * (n ? n : 1));
    uint32_t seen_size = table_size(2 * (n ? n : 1));
    SeenEntry *seen = PyMem_Malloc(sizeof(SeenEntry) * seen_size);
    if (tokens == NULL || seen == NULL) {
        PyMem_Free(tokens);
        PyMem_Free(seen);
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < n;) {
        unsigned char kind = char_class[(unsigned char)view[i]];
        if (kind == C_SPACE || kind == C_SKIP) {
            i++;
            continue;
        }
        Py_ssize_t start = i++;
        if (kind == C_WORD)
            while (i < n && char_class[(unsigned char)view[i]] == C_WORD)
                i++;
        tokens[count].start = start;
        tokens[count].length = i - start;
        tokens[count].hash = fnv(FNV_START, view + start, i - start);
        count++;
    }
    for (uint32_t j = 0; j < seen_size; j++)
        seen[j].first = -1;
    uint32_t seen_mask = seen_size - 1;
    Py_ssize_t found = 0;
    for (Py_ssize_t t = 0; t < count; t++) {
        for (int pair = 0; pair < 2; pair++) {
            if (pair && t + 1 >= count)
                break;
            const Token *a = &tokens[t], *b = pair ? &tokens[t + 1] : NULL;
            uint64_t hash = a->hash;
            if (b != NULL)
                hash = fnv(fnv(hash, " ", 1), view + b->start, b->length);
            uint32_t j = (uint32_t)(hash ^ (hash >> 32)) & seen_mask;
            int duplicate = 0;
            while (seen[j].first >= 0) {
                const Token *x = &tokens[seen[j].first];
                const Token *y = seen[j].second >= 0 ? &tokens[seen[j].second] : NULL;
                if ((y == NULL) == (b == NULL) && x->length == a->length &&
                    memcmp(view + x->start, view + a->start, a->length) == 0 &&
                    (b == NULL || (y->length == b->length &&
                                   memcmp(view + y->start, view + b->start, b->length) == 0))) {
                    duplicate = 1;
                    break;
                }
                j = (j + 1) & seen_mask;
            }
            if (duplicate)
                continue;
            seen[j].first = (int32_t)t;
            seen[j].second = b != NULL ? (int32_t)(t + 1) : -1;
            found++;
            const TokenSlot *slot =
                b == NULL ? token_find((Scorer *)self, hash, view + a->start, a->length, NULL, -1)
                          : token_find((Scorer *)self, hash, view + a->start, a->length,
                                       view + b->start, b->length);
            if (slot == NULL)
                continue;
            if (slot->row >= 0)
                add_row(self, sums, slot->row);
            *candidates |= slot->mask;
        }
    }
    PyMem_Free(tokens);
    PyMem_Free(seen);
    *distinct = found;
    return 0;
}

static PyObject *Scorer_score(Scorer *self, PyObject *args) {
    PyObject *view, *token_view, *patterns_read = NULL;
    if (!PyArg_ParseTuple(args, "UU|U", &view, &token_view, &patterns_read))
        return NULL;
    if (self->weights == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scorer is not initialised");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(view) || !PyUnicode_IS_ASCII(token_view))
        Py_RETURN_NONE;
    int64_t ngram_sums[MAX_CLASSES] = {0}, token_sums[MAX_CLASSES] = {0};
    Py_ssize_t ngram_count, token_count;
    uint64_t candidates = 0;
    if (score_ngrams(self, PyUnicode_DATA(view), PyUnicode_GET_LENGTH(view), ngram_sums,
                     &ngram_count, &candidates) < 0)
        return NULL;
    if (score_tokens(self, PyUnicode_DATA(token_view), PyUnicode_GET_LENGTH(token_view),
                     token_sums, &token_count, &candidates) < 0)
        return NULL;
    if (candidates && self->needles != NULL && patterns_read != NULL &&
        PyUnicode_IS_ASCII(patterns_read))
        candidates = with_needles(self, candidates, PyUnicode_DATA(patterns_read),
                                  PyUnicode_GET_LENGTH(patterns_read));
    PyObject *ngrams = sums_tuple(ngram_sums, self->classes);
    PyObject *tokens = sums_tuple(token_sums, self->classes);
    if (ngrams == NULL || tokens == NULL) {
        Py_XDECREF(ngrams);
        Py_XDECREF(tokens);
        return NULL;
    }
    return Py_BuildValue("NnNnK", ngrams, ngram_count, tokens, token_count,
                         (unsigned long long)candidates);
}

static int read_sums(PyObject *tuple, int classes, int64_t *sums) {
    if (!PyTuple_Check(tuple) || PyTuple_GET_SIZE(tuple) != classes) {
        PyErr_SetString(PyExc_TypeError, "sums must be a tuple of one int per class");
        return -1;
    }
    for (int k = 0; k < classes; k++) {
        sums[k] = PyLong_AsLongLong(PyTuple_GET_ITEM(tuple, k));
        if (sums[k] == -1 && PyErr_Occurred())
            return -1;
        if (sums[k] > (1LL << 40) || sums[k] < -(1LL << 40)) {
            PyErr_SetString(PyExc_ValueError, "sum out of range");
            return -1;
        }
    }
    return 0;
}

/* semantic.py: round(1.0 / math.sqrt(count) * _MULT), rounding half to even as round() does. */
static long long block_scale(const Scorer *self, Py_ssize_t count) {
    return (long long)nearbyint(1.0 / sqrt((double)count) * (double)self->multiplier);
}

static PyObject *Scorer_relative(Scorer *self, PyObject *args) {
    PyObject *ngram_tuple, *token_tuple;
    Py_ssize_t ngram_count, token_count;
    unsigned long long structure_mask;
    if (!PyArg_ParseTuple(args, "O!nO!nK", &PyTuple_Type, &ngram_tuple, &ngram_count,
                          &PyTuple_Type, &token_tuple, &token_count, &structure_mask))
        return NULL;
    if (self->weights == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scorer is not initialised");
        return NULL;
    }
    int64_t ngrams[MAX_CLASSES], tokens[MAX_CLASSES], named[MAX_CLASSES] = {0};
    if (read_sums(ngram_tuple, self->classes, ngrams) < 0 ||
        read_sums(token_tuple, self->classes, tokens) < 0)
        return NULL;
    if (ngram_count < 1 || token_count < 0) {
        PyErr_SetString(PyExc_ValueError, "bad feature counts");
        return NULL;
    }
    for (int f = 0; f < self->structures; f++)
        if (structure_mask >> f & 1)
            for (int k = 0; k < self->classes; k++)
                named[k] += self->structure[f * MAX_CLASSES + k];
    long long ngram_scale = block_scale(self, ngram_count);
    long long token_scale = block_scale(self, token_count ? token_count : 1);
    PyObject *relative = PyList_New(self->classes - 1);
    if (relative == NULL)
        return NULL;
    for (int k = 1; k < self->classes; k++) {
        /* Exact in int64 (|sums| < 2**40 and scales < 2**21), and below 2**53, so the double
         * division is Python's int / int. */
        int64_t numerator = (ngrams[k] - ngrams[0]) * ngram_scale +
                            (tokens[k] - tokens[0]) * token_scale +
                            (named[k] - named[0]) * self->multiplier;
        double value = self->bias[k - 1] + (double)numerator / self->denominator;
        PyObject *item = PyFloat_FromDouble(value);
        if (item == NULL) {
            Py_DECREF(relative);
            return NULL;
        }
        PyList_SET_ITEM(relative, k - 1, item);
    }
    return relative;
}

static PyObject *block_counts(PyObject *module, PyObject *args) {
    Py_buffer data;
    Py_ssize_t start, step, blocks;
    (void)module;
    if (!PyArg_ParseTuple(args, "y*nnn", &data, &start, &step, &blocks))
        return NULL;
    if (start < 0 || step < 1 || blocks < 0 ||
        (blocks > 0 && step > (PY_SSIZE_T_MAX - start) / blocks)) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, "bad block layout");
        return NULL;
    }
    PyObject *counts = PyList_New(blocks);
    if (counts == NULL) {
        PyBuffer_Release(&data);
        return NULL;
    }
    const unsigned char *bytes = data.buf;
    for (Py_ssize_t b = 0; b < blocks; b++) {
        Py_ssize_t from = start + b * step, to = from + step, count = 0;
        if (from > data.len)
            from = data.len;
        if (to > data.len)
            to = data.len;
        for (Py_ssize_t i = from; i < to; i++)
            count += bytes[i] != 0;
        PyObject *item = PyLong_FromSsize_t(count);
        if (item == NULL) {
            Py_DECREF(counts);
            PyBuffer_Release(&data);
            return NULL;
        }
        PyList_SET_ITEM(counts, b, item);
    }
    PyBuffer_Release(&data);
    return counts;
}

/* ------------------------------------------------------------------ prose counts
 *
 * ProseReader(function_words).counts(text) -> None for non-ASCII text, else
 *   (tokens, capital tokens, word tokens, whether a function word is among the \w+ runs)
 * as guard/engine/detector.py's _reads_as_prose counts them with Python's re:
 *   tokens:   len(text.split());
 *   capitals: _PROSE_CAPITALS, (?<!\S)[("'`]?[A-Z]{2,}[)"'`.,:;?!]?(?!\S);
 *   words:    _PROSE_WORD, (?<!\S)[("'`]?[A-Za-z][a-z]*(?:'[a-z]+)?[)"'`.,:;?!]?(?!\S);
 *   function: any \w+ run equal to one of function_words.
 * Both patterns are whole whitespace-separated tokens (neither holds a space, and each is
 * fenced by (?<!\S) and (?!\S)), so each count is the number of tokens the pattern matches
 * entirely. None of the opening or closing marks is a letter and both cores start and end
 * with one, so a token's marks are found without backtracking: an opening mark is always the
 * opening, a closing mark is always the closing.
 */
#define FUNCTION_SLOTS 512 /* power of two, over twice the words it holds */

typedef struct {
    PyObject_HEAD
    uint64_t words[FUNCTION_SLOTS]; /* a word of at most 8 bytes, zero-padded; 0: empty */
} ProseReader;

static inline uint64_t pack_word(const unsigned char *s, Py_ssize_t n) {
    uint64_t packed = 0;
    memcpy(&packed, s, (size_t)n);
    return packed;
}

static inline uint32_t word_slot(uint64_t packed) {
    return mix32((uint32_t)(packed ^ (packed >> 29) ^ (packed >> 43))) & (FUNCTION_SLOTS - 1);
}

static int ProseReader_init(ProseReader *self, PyObject *args, PyObject *kwds) {
    PyObject *words;
    (void)kwds;
    if (!PyArg_ParseTuple(args, "O", &words))
        return -1;
    memset(self->words, 0, sizeof(self->words));
    PyObject *iterator = PyObject_GetIter(words);
    if (iterator == NULL)
        return -1;
    Py_ssize_t held = 0;
    PyObject *word;
    while ((word = PyIter_Next(iterator)) != NULL) {
        Py_ssize_t n;
        const char *s = PyUnicode_Check(word) ? PyUnicode_AsUTF8AndSize(word, &n) : NULL;
        if (s == NULL || !PyUnicode_IS_ASCII(word) || n < 1 || n > 8 ||
            held >= FUNCTION_SLOTS / 2) {
            Py_DECREF(word);
            Py_DECREF(iterator);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError,
                                "function words must be ASCII str of 1 to 8 characters, "
                                "at most 256 of them");
            return -1;
        }
        uint64_t packed = pack_word((const unsigned char *)s, n);
        uint32_t i = word_slot(packed);
        while (self->words[i] != 0 && self->words[i] != packed)
            i = (i + 1) & (FUNCTION_SLOTS - 1);
        if (self->words[i] == 0)
            held++;
        self->words[i] = packed;
        Py_DECREF(word);
    }
    Py_DECREF(iterator);
    return PyErr_Occurred() ? -1 : 0;
}

static inline int is_function_word(const ProseReader *self, const unsigned char *s,
                                   Py_ssize_t n) {
    if (n > 8)
        return 0;
    uint64_t packed = pack_word(s, n);
    for (uint32_t i = word_slot(packed);; i = (i + 1) & (FUNCTION_SLOTS - 1)) {
        if (self->words[i] == packed)
            return 1;
        if (self->words[i] == 0)
            return 0;
    }
}

static inline int is_opening(unsigned char c) {
    return c == '(' || c == '"' || c == '\'' || c == '`';
}

static inline int is_closing(unsigned char c) {
    return c == ')' || c == '"' || c == '\'' || c == '`' || c == '.' || c == ',' ||
           c == ':' || c == ';' || c == '?' || c == '!';
}

/* str.isspace() over ASCII, which both str.split() and re's \s for str follow. */
static inline int is_space(unsigned char c) {
    return char_class[c] == C_SPACE || c == '\n';
}

static inline int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static inline int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }

static inline int is_word_char(unsigned char c) {
    return is_lower(c) || is_upper(c) || (c >= '0' && c <= '9') || c == '_';
}

/* [A-Z]{2,} */
static int capital_core(const unsigned char *s, Py_ssize_t n) {
    if (n < 2)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (!is_upper(s[i]))
            return 0;
    return 1;
}

/* [A-Za-z][a-z]*(?:'[a-z]+)? */
static int word_core(const unsigned char *s, Py_ssize_t n) {
    if (n < 1 || !(is_upper(s[0]) || is_lower(s[0])))
        return 0;
    Py_ssize_t i = 1;
    while (i < n && is_lower(s[i]))
        i++;
    if (i == n)
        return 1;
    if (s[i] != '\'' || i + 1 == n)
        return 0;
    for (i++; i < n; i++)
        if (!is_lower(s[i]))
            return 0;
    return 1;
}

static PyObject *ProseReader_counts(ProseReader *self, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "counts() needs a str");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(text))
        Py_RETURN_NONE;
    const unsigned char *s = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    Py_ssize_t tokens = 0, capitals = 0, words = 0;
    int function = 0;
    Py_ssize_t i = 0;
    while (i < n) {
        while (i < n && is_space(s[i]))
            i++;
        if (i == n)
            break;
        Py_ssize_t start = i;
        while (i < n && !is_space(s[i]))
            i++;
        tokens++;
        Py_ssize_t from = start, to = i;
        if (is_opening(s[from]))
            from++;
        if (to > from && is_closing(s[to - 1]))
            to--;
        if (capital_core(s + from, to - from))
            capitals++;
        else if (word_core(s + from, to - from))
            words++;
        if (!function) {
            for (Py_ssize_t j = start; j < i;) {
                while (j < i && !is_word_char(s[j]))
                    j++;
                Py_ssize_t run = j;
                while (j < i && is_word_char(s[j]))
                    j++;
                if (j > run && is_function_word(self, s + run, j - run)) {
                    function = 1;
                    break;
                }
            }
        }
    }
    return Py_BuildValue("nnnO", tokens, capitals, words, function ? Py_True : Py_False);
}

static PyMethodDef ProseReader_methods[] = {
    {"counts", (PyCFunction)ProseReader_counts, METH_O,
     "counts(text) -> (tokens, capital tokens, word tokens, has a function word), or None "
     "when text is not ASCII."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ProseReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "guard.engine._featurize.ProseReader",
    .tp_basicsize = sizeof(ProseReader),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Counts of the tokens that tell whether ASCII text reads as prose.",
    .tp_methods = ProseReader_methods,
    .tp_init = (initproc)ProseReader_init,
    .tp_new = PyType_GenericNew,
};

/* ------------------------------------------------------------------ triggers
 *
 * TriggerReader(names, legacy).read(data) -> frozenset of the names of the normaliser's
 * triggers (normalize._TRIGGERS) present in the UTF-8 bytes data, as a Hyperscan scan of
 * their patterns reports them. names are the 18 trigger names in this order:
 *   %  +  entity  \  non-ascii  control  "  "  --  / *  * /  #  quote  $  {  /  base64  utf7
 *   encoded
 * and legacy the HTML5 character reference names that need no ";" (the entity trigger's
 * alternatives besides "&#" and "&name;").
 */
enum {
    T_PERCENT, T_PLUS, T_ENTITY, T_BACKSLASH, T_NON_ASCII, T_CONTROL, T_SPACES, T_DASHES,
    T_OPEN_COMMENT, T_CLOSE_COMMENT, T_HASH, T_QUOTE, T_DOLLAR, T_BRACE, T_SLASH, T_BASE64,
    T_UTF7, T_ENCODED, TRIGGERS
};

typedef struct {
    PyObject_HEAD
    PyObject *names;  /* tuple of TRIGGERS str */
    PyObject *legacy; /* tuple of bytes */
    PyObject *empty;  /* frozenset() */
} TriggerReader;

static void TriggerReader_dealloc(TriggerReader *self) {
    Py_XDECREF(self->names);
    Py_XDECREF(self->legacy);
    Py_XDECREF(self->empty);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int TriggerReader_init(TriggerReader *self, PyObject *args, PyObject *kwds) {
    PyObject *names, *legacy;
    (void)kwds;
    if (!PyArg_ParseTuple(args, "O!O!", &PyTuple_Type, &names, &PyTuple_Type, &legacy))
        return -1;
    if (PyTuple_GET_SIZE(names) != TRIGGERS) {
        PyErr_SetString(PyExc_ValueError, "one name per trigger, 18 of them");
        return -1;
    }
    for (Py_ssize_t i = 0; i < TRIGGERS; i++)
        if (!PyUnicode_Check(PyTuple_GET_ITEM(names, i))) {
            PyErr_SetString(PyExc_TypeError, "trigger names must be str");
            return -1;
        }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(legacy); i++) {
        PyObject *name = PyTuple_GET_ITEM(legacy, i);
        if (!PyBytes_Check(name) || PyBytes_GET_SIZE(name) == 0) {
            PyErr_SetString(PyExc_TypeError, "legacy names must be non-empty bytes");
            return -1;
        }
    }
    PyObject *empty = PyFrozenSet_New(NULL);
    if (empty == NULL)
        return -1;
    Py_INCREF(names);
    Py_INCREF(legacy);
    Py_XSETREF(self->names, names);
    Py_XSETREF(self->legacy, legacy);
    Py_XSETREF(self->empty, empty);
    return 0;
}

static inline int is_hex(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline int is_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || is_lower(c) || is_upper(c);
}

static inline int is_base64(unsigned char c) {
    return is_alnum(c) || c == '+' || c == '/' || c == '_' || c == '-';
}

/* The ends of every match of one escape unit, %XX | &#?\w{2,8};? | \\[uUxX]X{2,4}, starting
 * at i (at most 16 of them); returns how many. */
static int unit_ends(const unsigned char *s, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *ends) {
    int count = 0;
    if (i >= n)
        return 0;
    if (s[i] == '%') {
        if (i + 2 < n && is_hex(s[i + 1]) && is_hex(s[i + 2]))
            ends[count++] = i + 3;
    } else if (s[i] == '&') {
        Py_ssize_t p = i + 1;
        if (p < n && s[p] == '#')
            p++;
        Py_ssize_t w = 0;
        while (w < 8 && p + w < n && is_word_char(s[p + w]))
            w++;
        for (Py_ssize_t k = 2; k <= w; k++) {
            ends[count++] = p + k;
            if (p + k < n && s[p + k] == ';')
                ends[count++] = p + k + 1;
        }
    } else if (s[i] == '\\') {
        if (i + 1 < n && (s[i + 1] == 'u' || s[i + 1] == 'U' || s[i + 1] == 'x' ||
                          s[i + 1] == 'X')) {
            Py_ssize_t h = 0;
            while (h < 4 && i + 2 + h < n && is_hex(s[i + 2 + h]))
                h++;
            for (Py_ssize_t k = 2; k <= h; k++)
                ends[count++] = i + 2 + k;
        }
    }
    return count;
}

static int two_units_at(const unsigned char *s, Py_ssize_t n, Py_ssize_t i) {
    Py_ssize_t ends[16], next[16];
    int count = unit_ends(s, n, i, ends);
    for (int k = 0; k < count; k++)
        if (unit_ends(s, n, ends[k], next) > 0)
            return 1;
    return 0;
}

static int reference_at(const TriggerReader *self, const unsigned char *s, Py_ssize_t n,
                        Py_ssize_t i) {
    /* &(?:#|legacy name|[A-Za-z0-9]{2,32};) at i */
    if (i + 1 >= n)
        return 0;
    if (s[i + 1] == '#')
        return 1;
    Py_ssize_t run = 0;
    while (run <= 32 && i + 1 + run < n && is_alnum(s[i + 1 + run]))
        run++;
    if (run >= 2 && run <= 32 && i + 1 + run < n && s[i + 1 + run] == ';')
        return 1;
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(self->legacy); k++) {
        PyObject *name = PyTuple_GET_ITEM(self->legacy, k);
        Py_ssize_t m = PyBytes_GET_SIZE(name);
        if (i + 1 + m <= n && memcmp(s + i + 1, PyBytes_AS_STRING(name), (size_t)m) == 0)
            return 1;
    }
    return 0;
}

static PyObject *TriggerReader_read(TriggerReader *self, PyObject *data) {
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "read() needs bytes");
        return NULL;
    }
    if (self->names == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "TriggerReader is not initialised");
        return NULL;
    }
    const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    uint32_t found = 0;
    Py_ssize_t run = 0;
    /* quote: a second quote in the same word (c'a't, "id"), or a quote opening a word at the
     * start or after a shell operator ('ls, ;"cat"); an apostrophe in prose (it's) is neither,
     * unless the value also names a command that reads its words again (after the loop) */
    int quote_in_word = 0, after_operator = 1, quotes = 0, rereader = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        unsigned char next = i + 1 < n ? s[i + 1] : 0;
        run = is_base64(c) ? run + 1 : 0;
        if (run >= 16)
            found |= 1u << T_BASE64;
        if (c == '\'' || c == '"') {
            if (quote_in_word || after_operator)
                found |= 1u << T_QUOTE;
            quote_in_word = 1;
            after_operator = 0;
            quotes++;
        } else if (c == ' ' || (c >= '\t' && c <= '\r')) {
            quote_in_word = 0;
        } else {
            after_operator = c == ';' || c == '&' || c == '|' || c == '`' || c == '(';
            if (!rereader &&
                ((c == 'e' && i + 3 < n && memcmp(s + i, "eval", 4) == 0) ||
                 (c == 's' && i + 2 < n && memcmp(s + i, "ssh", 3) == 0) ||
                 (c == '-' && i + 2 < n && memcmp(s + i, "-c ", 3) == 0)))
                rereader = 1;
        }
        if (c >= 0x80) {
            found |= 1u << T_NON_ASCII;
            continue;
        }
        switch (c) {
        case '%':
            found |= 1u << T_PERCENT;
            break;
        case '+':
            found |= 1u << T_PLUS;
            if (i + 3 < n && is_base64(s[i + 1]) && s[i + 1] != '_' && s[i + 1] != '-' &&
                is_base64(s[i + 2]) && s[i + 2] != '_' && s[i + 2] != '-' &&
                is_base64(s[i + 3]) && s[i + 3] != '_' && s[i + 3] != '-')
                found |= 1u << T_UTF7;
            break;
        case '&':
            if (!(found >> T_ENTITY & 1) && reference_at(self, s, n, i))
                found |= 1u << T_ENTITY;
            break;
        case '\\':
            found |= 1u << T_BACKSLASH;
            break;
        case 0: case '\t': case 0x0b: case 0x0c:
            found |= 1u << T_CONTROL;
            break;
        case ' ':
            if (next == ' ')
                found |= 1u << T_SPACES;
            break;
        case '-':
            if (next == '-')
                found |= 1u << T_DASHES;
            break;
        case '/':
            found |= 1u << T_SLASH;
            if (next == '*')
                found |= 1u << T_OPEN_COMMENT;
            break;
        case '*':
            if (next == '/')
                found |= 1u << T_CLOSE_COMMENT;
            break;
        case '#':
            found |= 1u << T_HASH;
            break;
        case '$':
            found |= 1u << T_DOLLAR;
            break;
        case '{':
            found |= 1u << T_BRACE;
            break;
        default:
            break;
        }
        if ((c == '%' || c == '&' || c == '\\') && !(found >> T_ENCODED & 1) &&
            two_units_at(s, n, i))
            found |= 1u << T_ENCODED;
    }
    /* ...or two quotes in a value that names a command reading its arguments again (eval,
     * ssh, sh -c): it takes a quoted stretch with blanks (;eval c'at /et'c/passwd) as words */
    if (quotes >= 2 && rereader)
        found |= 1u << T_QUOTE;
    if (found == 0) {
        Py_INCREF(self->empty);
        return self->empty;
    }
    PyObject *names = PySet_New(NULL);
    if (names == NULL)
        return NULL;
    for (int t = 0; t < TRIGGERS; t++)
        if (found >> t & 1 && PySet_Add(names, PyTuple_GET_ITEM(self->names, t)) < 0) {
            Py_DECREF(names);
            return NULL;
        }
    PyObject *frozen = PyFrozenSet_New(names);
    Py_DECREF(names);
    return frozen;
}

static PyMethodDef TriggerReader_methods[] = {
    {"read", (PyCFunction)TriggerReader_read, METH_O,
     "read(data) -> frozenset of the names of the triggers in the UTF-8 bytes data."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TriggerReaderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "guard.engine._featurize.TriggerReader",
    .tp_basicsize = sizeof(TriggerReader),
    .tp_dealloc = (destructor)TriggerReader_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The normaliser's triggers, read from UTF-8 bytes in one pass.",
    .tp_methods = TriggerReader_methods,
    .tp_init = (initproc)TriggerReader_init,
    .tp_new = PyType_GenericNew,
};

static PyMethodDef module_methods[] = {
    {"block_counts", block_counts, METH_VARARGS,
     "block_counts(data, start, step, blocks) -> the non-zero bytes of each of the blocks "
     "data[start + i * step : start + (i + 1) * step] (cut at the end of data)."},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef Scorer_methods[] = {
    {"score", (PyCFunction)Scorer_score, METH_VARARGS,
     "score(view, token_view[, patterns_read]) -> (ngram sums, ngram count, token sums, "
     "token count, candidate mask) or None when view or token_view is not ASCII. With "
     "patterns_read (ASCII), a candidate none of whose needles it holds is dropped."},
    {"relative", (PyCFunction)Scorer_relative, METH_VARARGS,
     "relative(ngram sums, ngram count, token sums, token count, structure mask) -> "
     "each attack class's log-odds against benign."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScorerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "guard.engine._featurize.Scorer",
    .tp_basicsize = sizeof(Scorer),
    .tp_dealloc = (destructor)Scorer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The semantic model's weight tables, for feature sums of ASCII views.",
    .tp_methods = Scorer_methods,
    .tp_init = (initproc)Scorer_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef featurize_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "guard.engine._featurize",
    .m_doc = "Feature sums of the semantic model and prose counts, for ASCII text.",
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC PyInit__featurize(void) {
    init_char_class();
    if (PyType_Ready(&ScorerType) < 0 || PyType_Ready(&ProseReaderType) < 0 ||
        PyType_Ready(&TriggerReaderType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&featurize_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddType(module, &ScorerType) < 0 ||
        PyModule_AddType(module, &ProseReaderType) < 0 ||
        PyModule_AddType(module, &TriggerReaderType) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
