/*
 * Rudder's graph-evaluation hook for llama.cpp (a ggml_backend_sched_eval_callback).
 *
 * Why C: llama.cpp asks the callback about every graph node of every decode (hundreds per token).
 * A Python callback costs ~20% throughput just answering "no"; this one answers with a strcmp over a
 * short table, so an engine can keep the hook installed for its whole life and steering can change
 * between two decode calls without a new context.
 *
 * Why no ggml headers: Python hands in the three ggml-base functions we need (get_name, tensor_get,
 * tensor_set) as pointers, so this file builds with only a C compiler. The only layout we rely on is
 * the head of struct ggml_tensor: `enum ggml_type type` at offset 0, `int64_t ne[4]` at offset 16 and
 * `size_t nb[4]` at offset 48 (stable across ggml versions; checked from Python at start-up).
 *
 * Each table entry names one graph node ("l_out-12") and an op on its rows of n_embd floats:
 *   add          y += scale * d
 *   project-out  y -= scale * d * dot(d, y)     (d unit length; ds4's directional steering)
 *   ablate       y -= d * dot(d, y)             (full directional ablation)
 *   capture      copy the rows out through a Python callback
 * Entries with scope "generated" only act while the engine decodes generated tokens.
 * An optional observer sees the name, type and shape of every node asked about (site discovery).
 *
 * The module is built as a CPython extension only so that setuptools compiles and installs it; the
 * functions are called through ctypes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RUDDER_NAME_MAX 64

enum { OP_ADD = 0, OP_PROJECT_OUT = 1, OP_ABLATE = 2, OP_CAPTURE = 3 };
enum { SCOPE_ALL = 0, SCOPE_GENERATED = 1 };
enum { ERR_NONE = 0, ERR_NOT_F32 = 1, ERR_N_EMBD = 2, ERR_NOT_CONTIGUOUS = 3, ERR_NO_MEMORY = 4 };

typedef const char *(*get_name_fn)(const void *tensor);
typedef void (*tensor_get_fn)(const void *tensor, void *data, size_t offset, size_t size);
typedef void (*tensor_set_fn)(void *tensor, const void *data, size_t offset, size_t size);
typedef void (*capture_fn)(int32_t entry, const float *data, int64_t n_embd, int64_t n_rows);
typedef void (*observe_fn)(const char *name, int32_t type, const int64_t *ne);

typedef struct {
    char name[RUDDER_NAME_MAX];
    int32_t op;
    int32_t scope;
    int64_t n_embd;
    const float *direction; /* owned by Python; kept alive while the entry is installed */
    float scale;
} rudder_entry;

typedef struct {
    get_name_fn get_name;
    tensor_get_fn tensor_get;
    tensor_set_fn tensor_set;
    capture_fn capture;
    observe_fn observe;     /* when set, sees every node llama.cpp asks about (site discovery) */
    rudder_entry *entries;
    int32_t n_entries;
    int32_t abort_after;    /* entry index whose node ends the graph early (capture only), or -1 */
    int32_t generating;
    int32_t error;          /* first error seen since the last reset */
    char error_node[RUDDER_NAME_MAX];
    int64_t calls_ask;      /* counters, for tests and benchmarks */
    int64_t calls_compute;
    float *scratch;
    size_t scratch_len;
} rudder_hook;

static bool entry_active(const rudder_hook *h, const rudder_entry *e) {
    return e->scope == SCOPE_ALL || h->generating;
}

static void set_error(rudder_hook *h, int32_t code, const char *name) {
    if (h->error != ERR_NONE) return;
    h->error = code;
    strncpy(h->error_node, name, RUDDER_NAME_MAX - 1);
    h->error_node[RUDDER_NAME_MAX - 1] = '\0';
}

static float dot(const float *a, const float *b, int64_t n) {
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) acc += (double)a[i] * (double)b[i];
    return (float)acc;
}

static void apply_entry(rudder_hook *h, int32_t index, float *rows, int64_t n_embd, int64_t n_rows) {
    const rudder_entry *e = &h->entries[index];
    const float *d = e->direction;
    switch (e->op) {
    case OP_ADD:
        for (int64_t r = 0; r < n_rows; r++) {
            float *y = rows + r * n_embd;
            for (int64_t i = 0; i < n_embd; i++) y[i] += e->scale * d[i];
        }
        break;
    case OP_PROJECT_OUT:
    case OP_ABLATE: {
        const float s = e->op == OP_ABLATE ? 1.0f : e->scale;
        for (int64_t r = 0; r < n_rows; r++) {
            float *y = rows + r * n_embd;
            const float k = s * dot(d, y, n_embd);
            for (int64_t i = 0; i < n_embd; i++) y[i] -= k * d[i];
        }
        break;
    }
    case OP_CAPTURE:
        if (h->capture) h->capture(index, rows, n_embd, n_rows);
        break;
    }
}

static bool rudder_cb_eval(void *tensor, bool ask, void *user_data) {
    rudder_hook *h = (rudder_hook *)user_data;
    if (h == NULL || (h->n_entries == 0 && h->observe == NULL)) return !ask;
    const char *name = h->get_name(tensor);
    if (ask) {
        h->calls_ask++;
        if (h->observe) h->observe(name, *(const int32_t *)tensor, (const int64_t *)((const char *)tensor + 16));
        for (int32_t i = 0; i < h->n_entries; i++) {
            if (entry_active(h, &h->entries[i]) && strcmp(h->entries[i].name, name) == 0) return true;
        }
        return false;
    }
    h->calls_compute++;
    const char *base = (const char *)tensor;
    const int32_t type = *(const int32_t *)base;
    const int64_t *ne = (const int64_t *)(base + 16);
    const size_t *nb = (const size_t *)(base + 48);
    if (type != 0 /* GGML_TYPE_F32 */) {
        set_error(h, ERR_NOT_F32, name);
        return true;
    }
    const int64_t n_embd = ne[0];
    const int64_t n_rows = ne[1] * ne[2] * ne[3];
    if (nb[0] != sizeof(float) || nb[1] != (size_t)n_embd * sizeof(float)) {
        set_error(h, ERR_NOT_CONTIGUOUS, name);
        return true;
    }
    const size_t len = (size_t)(n_embd * n_rows);
    if (len > h->scratch_len) {
        float *grown = (float *)realloc(h->scratch, len * sizeof(float));
        if (grown == NULL) {
            set_error(h, ERR_NO_MEMORY, name);
            return true;
        }
        h->scratch = grown;
        h->scratch_len = len;
    }
    h->tensor_get(tensor, h->scratch, 0, len * sizeof(float));
    bool modified = false;
    for (int32_t i = 0; i < h->n_entries; i++) {
        const rudder_entry *e = &h->entries[i];
        if (!entry_active(h, e) || strcmp(e->name, name) != 0) continue;
        if (e->op != OP_CAPTURE && e->n_embd != n_embd) {
            set_error(h, ERR_N_EMBD, name);
            continue;
        }
        apply_entry(h, i, h->scratch, n_embd, n_rows);
        modified = modified || e->op != OP_CAPTURE;
    }
    if (modified) h->tensor_set(tensor, h->scratch, 0, len * sizeof(float));
    /* Returning false aborts the rest of the graph: capture-only runs skip the layers they don't need. */
    return !(h->abort_after >= 0 && strcmp(h->entries[h->abort_after].name, name) == 0);
}

/* ---- the ctypes surface ---------------------------------------------------------------------- */

PyMODINIT_FUNC PyInit__hook(void);

void *rudder_hook_callback(void) { return (void *)&rudder_cb_eval; }

rudder_hook *rudder_hook_new(void *get_name, void *tensor_get, void *tensor_set) {
    rudder_hook *h = (rudder_hook *)calloc(1, sizeof(rudder_hook));
    if (h == NULL) return NULL;
    h->get_name = (get_name_fn)get_name;
    h->tensor_get = (tensor_get_fn)tensor_get;
    h->tensor_set = (tensor_set_fn)tensor_set;
    h->abort_after = -1;
    return h;
}

void rudder_hook_free(rudder_hook *h) {
    if (h == NULL) return;
    free(h->entries);
    free(h->scratch);
    free(h);
}

/* Replace the whole table at once; returns 0, or -1 when out of memory (the old table stays).
 * abort_after: index of the entry whose node is the last one the caller needs, or -1. */
int32_t rudder_hook_set_entries(rudder_hook *h, const rudder_entry *entries, int32_t n, int32_t abort_after) {
    rudder_entry *copy = NULL;
    if (abort_after >= n) return -2;
    if (n > 0) {
        copy = (rudder_entry *)malloc((size_t)n * sizeof(rudder_entry));
        if (copy == NULL) return -1;
        memcpy(copy, entries, (size_t)n * sizeof(rudder_entry));
    }
    free(h->entries);
    h->entries = copy;
    h->n_entries = n;
    h->abort_after = abort_after;
    return 0;
}

void rudder_hook_set_capture(rudder_hook *h, void *capture) { h->capture = (capture_fn)capture; }
void rudder_hook_set_observer(rudder_hook *h, void *observe) { h->observe = (observe_fn)observe; }
void rudder_hook_set_generating(rudder_hook *h, int32_t generating) { h->generating = generating; }
int32_t rudder_hook_error(const rudder_hook *h) { return h->error; }
const char *rudder_hook_error_node(const rudder_hook *h) { return h->error_node; }
void rudder_hook_reset_error(rudder_hook *h) {
    h->error = ERR_NONE;
    h->error_node[0] = '\0';
}
int64_t rudder_hook_calls_ask(const rudder_hook *h) { return h->calls_ask; }
int64_t rudder_hook_calls_compute(const rudder_hook *h) { return h->calls_compute; }
int32_t rudder_hook_entry_size(void) { return (int32_t)sizeof(rudder_entry); }

static struct PyModuleDef hook_module = {PyModuleDef_HEAD_INIT, "_hook",
                                         "Rudder's C graph hook; use it through ctypes.", -1, NULL};

PyMODINIT_FUNC PyInit__hook(void) { return PyModule_Create(&hook_module); }
