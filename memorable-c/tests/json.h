/* A small JSON reader and writer for the C tests (the golden fixtures in tests/fixtures are
 * JSON, shared with the Rust, Python and Node tests). Parses objects, arrays, strings (with the
 * usual escapes; \u escapes outside ASCII become '?'), numbers, true/false/null. Test-only:
 * inputs are trusted files and the library's own output. */
#ifndef MEMORABLE_TEST_JSON_H
#define MEMORABLE_TEST_JSON_H

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
    jtype t;
    bool b;
    double num;
    char *str;          /* J_STR */
    size_t n;           /* J_ARR / J_OBJ: number of items */
    struct jval *items; /* J_ARR / J_OBJ values */
    char **keys;        /* J_OBJ keys */
} jval;

static void j_free_inner(jval *v) {
    if (v == NULL) return;
    free(v->str);
    for (size_t i = 0; i < v->n; i++) {
        j_free_inner(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
}

/* Release a value returned by j_parse / j_parse_file (NULL is fine). */
static inline void j_free(jval *v) {
    j_free_inner(v);
    free(v);
}

static void j_ws(const char **p) {
    while (isspace((unsigned char)**p)) (*p)++;
}

static bool j_value(const char **p, jval *out);

static char *j_string(const char **p) {
    if (**p != '"') return NULL;
    (*p)++;
    size_t cap = 16, len = 0;
    char *s = malloc(cap);
    while (**p && **p != '"') {
        char c = *(*p)++;
        if (c == '\\') {
            char e = *(*p)++;
            switch (e) {
                case 'n': c = '\n'; break;
                case 't': c = '\t'; break;
                case 'r': c = '\r'; break;
                case 'b': c = '\b'; break;
                case 'f': c = '\f'; break;
                case 'u': {
                    unsigned code = 0;
                    if (sscanf(*p, "%4x", &code) != 1) { free(s); return NULL; }
                    *p += 4;
                    c = code < 128 ? (char)code : '?';
                    break;
                }
                default: c = e; /* \" \\ \/ */
            }
        }
        if (len + 2 > cap) s = realloc(s, cap *= 2);
        s[len++] = c;
    }
    if (**p != '"') { free(s); return NULL; }
    (*p)++;
    s[len] = '\0';
    return s;
}

static bool j_items(const char **p, jval *out, bool object) {
    char close = object ? '}' : ']';
    (*p)++;
    j_ws(p);
    size_t cap = 0;
    if (**p == close) { (*p)++; return true; }
    for (;;) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 8;
            out->items = realloc(out->items, cap * sizeof *out->items);
            if (object) out->keys = realloc(out->keys, cap * sizeof *out->keys);
        }
        j_ws(p);
        if (object) {
            char *key = j_string(p);
            if (key == NULL) return false;
            out->keys[out->n] = key;
            j_ws(p);
            if (**p != ':') { out->n++; out->items[out->n - 1] = (jval){0}; return false; }
            (*p)++;
        }
        memset(&out->items[out->n], 0, sizeof *out->items);
        out->n++;
        if (!j_value(p, &out->items[out->n - 1])) return false;
        j_ws(p);
        if (**p == ',') { (*p)++; continue; }
        if (**p == close) { (*p)++; return true; }
        return false;
    }
}

static bool j_value(const char **p, jval *out) {
    j_ws(p);
    memset(out, 0, sizeof *out);
    switch (**p) {
        case '{': out->t = J_OBJ; return j_items(p, out, true);
        case '[': out->t = J_ARR; return j_items(p, out, false);
        case '"': out->t = J_STR; return (out->str = j_string(p)) != NULL;
        case 't': out->t = J_BOOL; out->b = true; *p += 4; return true;
        case 'f': out->t = J_BOOL; out->b = false; *p += 5; return true;
        case 'n': out->t = J_NULL; *p += 4; return true;
        default: {
            char *end = NULL;
            out->t = J_NUM;
            out->num = strtod(*p, &end);
            if (end == *p) return false;
            *p = end;
            return true;
        }
    }
}

/* Parse `text`; NULL when it is not JSON. */
static inline jval *j_parse(const char *text) {
    jval *v = calloc(1, sizeof *v);
    const char *p = text;
    if (text == NULL || !j_value(&p, v)) { j_free(v); return NULL; }
    return v;
}

/* Parse a file; NULL when it cannot be read or is not JSON. */
static inline jval *j_parse_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    buf[got] = '\0';
    jval *v = j_parse(buf);
    free(buf);
    return v;
}

/* The member `key` of an object (NULL when absent or not an object). */
static inline const jval *j_get(const jval *obj, const char *key) {
    if (obj == NULL || obj->t != J_OBJ) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
    return NULL;
}

/* A number member, or `fallback` when absent. */
static inline double j_num(const jval *obj, const char *key, double fallback) {
    const jval *v = j_get(obj, key);
    return v && v->t == J_NUM ? v->num : fallback;
}

/* A string member, or NULL. */
static inline const char *j_str(const jval *obj, const char *key) {
    const jval *v = j_get(obj, key);
    return v && v->t == J_STR ? v->str : NULL;
}

static void j_append(char **buf, size_t *len, size_t *cap, const char *s) {
    size_t n = strlen(s);
    while (*len + n + 1 > *cap) *buf = realloc(*buf, *cap = *cap ? *cap * 2 : 256);
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

static void j_write(const jval *v, char **buf, size_t *len, size_t *cap) {
    char tmp[64];
    switch (v->t) {
        case J_NULL: j_append(buf, len, cap, "null"); break;
        case J_BOOL: j_append(buf, len, cap, v->b ? "true" : "false"); break;
        case J_NUM: snprintf(tmp, sizeof tmp, "%.17g", v->num); j_append(buf, len, cap, tmp); break;
        case J_STR:
            j_append(buf, len, cap, "\"");
            j_append(buf, len, cap, v->str); /* the fixtures' strings need no escaping */
            j_append(buf, len, cap, "\"");
            break;
        case J_ARR:
        case J_OBJ:
            j_append(buf, len, cap, v->t == J_ARR ? "[" : "{");
            for (size_t i = 0; i < v->n; i++) {
                if (i) j_append(buf, len, cap, ",");
                if (v->t == J_OBJ) {
                    j_append(buf, len, cap, "\"");
                    j_append(buf, len, cap, v->keys[i]);
                    j_append(buf, len, cap, "\":");
                }
                j_write(&v->items[i], buf, len, cap);
            }
            j_append(buf, len, cap, v->t == J_ARR ? "]" : "}");
            break;
    }
}

/* `v` as JSON text (free() it). */
static inline char *j_dump(const jval *v) {
    char *buf = NULL;
    size_t len = 0, cap = 0;
    j_write(v, &buf, &len, &cap);
    return buf;
}

#endif /* MEMORABLE_TEST_JSON_H */
