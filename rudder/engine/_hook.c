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
 * `size_t nb[4]` at offset 48. hook.py checks these offsets against a real ggml tensor when it loads
 * (rudder_hook_layout reports the ones compiled in here).
 *
 * Each table entry names one graph node ("l_out-12") and an op on its rows of n_embd floats:
 *   add          y += scale * d
 *   project-out  y -= scale * d * dot(d, y)     (d unit length; ds4's directional steering)
 *   ablate       y -= d * dot(d, y)             (full directional ablation)
 *   capture      copy the rows out through a Python callback (only the rows set with
 *                rudder_hook_set_rows, when the node has the expected row count and nothing steers it)
 * A node [n_embd, a, b, c] is treated as a*b*c rows of n_embd (every hyper-connection stream of a
 * multi-stream residual is steered alike; which site to steer is the caller's choice).
 * Entries with scope "generated" only act while the engine decodes generated tokens.
 * An optional observer sees the name, type and shape of every node asked about (site discovery).
 *
 * Threads: a table is immutable once built and reference counted. rudder_hook_set_entries may run on
 * any thread at any time: it copies the entries *and their directions* into a new table and swaps the
 * `pending` pointer under a mutex. The decoding thread pins `pending` in rudder_hook_begin (so one
 * decode sees one table from its first node to its last) and unpins it in rudder_hook_end; a table is
 * freed when its last holder lets go, never while a decode reads it. A decode without begin/end (a
 * caller that drives llama.cpp directly) pins the table per callback instead.
 *
 * The module is built as a CPython extension only so that setuptools compiles and installs it; the
 * functions are called through ctypes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RUDDER_NAME_MAX 64
#define OFFSET_TYPE 0
#define OFFSET_NE 16
#define OFFSET_NB 48

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
    const float *direction; /* in a caller's entry: read once by set_entries; in a table: the table's copy */
    float scale;
} rudder_entry;

typedef struct {
    int64_t refs;           /* holders: the hook's `pending` slot, a pinned decode, a callback in flight */
    int32_t n_entries;
    int32_t abort_after;    /* entry index whose node ends the graph early (capture only), or -1 */
    rudder_entry *entries;  /* n_entries, then the directions' floats in the same block */
} rudder_table;

typedef struct {
    get_name_fn get_name;
    tensor_get_fn tensor_get;
    tensor_set_fn tensor_set;
    capture_fn capture;
    observe_fn observe;     /* when set, sees every node llama.cpp asks about (site discovery) */
    pthread_mutex_t lock;   /* guards pending, active and every table's refs */
    rudder_table *pending;  /* the newest table: what the next decode will use */
    rudder_table *active;   /* pinned by the decoding thread between begin and end, or NULL */
    int32_t generating;
    int32_t error;          /* first error seen since the last reset */
    char error_node[RUDDER_NAME_MAX];
    int64_t calls_ask;      /* counters, for tests and benchmarks */
    int64_t calls_compute;
    int64_t tables_made;    /* non-empty tables built, and freed */
    int64_t tables_freed;
    float *scratch;
    size_t scratch_len;
    int64_t *pick;          /* rows a capture copies out (each sequence's last token), or NULL: all */
    int32_t n_pick;
    int64_t pick_from;      /* ... when the node has exactly this many rows */
} rudder_hook;

static rudder_table EMPTY_TABLE = {1, 0, -1, NULL}; /* never freed */

static void table_release_locked(rudder_hook *h, rudder_table *t) {
    if (t == NULL || t == &EMPTY_TABLE) return;
    if (--t->refs == 0) {
        free(t);
        h->tables_freed++;
    }
}

static rudder_table *table_acquire(rudder_hook *h) {
    pthread_mutex_lock(&h->lock);
    rudder_table *t = h->pending;
    t->refs++;
    pthread_mutex_unlock(&h->lock);
    return t;
}

static void table_release(rudder_hook *h, rudder_table *t) {
    pthread_mutex_lock(&h->lock);
    table_release_locked(h, t);
    pthread_mutex_unlock(&h->lock);
}

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

static void apply_entry(rudder_hook *h, const rudder_entry *e, int32_t index, float *rows, int64_t n_embd,
                        int64_t n_rows) {
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

/* Rows of n_embd floats, one after another, through every dimension (3-D/4-D nodes included). */
static bool contiguous(const int64_t *ne, const size_t *nb) {
    size_t expected = sizeof(float);
    for (int d = 0; d < 4; d++) {
        if (ne[d] > 1 && nb[d] != expected) return false;
        expected *= (size_t)ne[d];
    }
    return true;
}

/* Does an active entry name this node (with steer_only: one that changes it)? */
static bool table_wants(const rudder_hook *h, const rudder_table *t, const char *name, bool steer_only) {
    for (int32_t i = 0; i < t->n_entries; i++) {
        const rudder_entry *e = &t->entries[i];
        if ((!steer_only || e->op != OP_CAPTURE) && entry_active(h, e) && strcmp(e->name, name) == 0) return true;
    }
    return false;
}

static bool grow_scratch(rudder_hook *h, size_t len, const char *name) {
    if (len <= h->scratch_len) return true;
    float *grown = (float *)realloc(h->scratch, len * sizeof(float));
    if (grown == NULL) {
        set_error(h, ERR_NO_MEMORY, name);
        return false;
    }
    h->scratch = grown;
    h->scratch_len = len;
    return true;
}

static bool compute_node(rudder_hook *h, const rudder_table *t, void *tensor, const char *name) {
    h->calls_compute++;
    const char *base = (const char *)tensor;
    const int32_t type = *(const int32_t *)(base + OFFSET_TYPE);
    const int64_t *ne = (const int64_t *)(base + OFFSET_NE);
    const size_t *nb = (const size_t *)(base + OFFSET_NB);
    if (type != 0 /* GGML_TYPE_F32 */) {
        set_error(h, ERR_NOT_F32, name);
        return true;
    }
    const int64_t n_embd = ne[0];
    const int64_t n_rows = ne[1] * ne[2] * ne[3];
    if (!contiguous(ne, nb)) {
        set_error(h, ERR_NOT_CONTIGUOUS, name);
        return true;
    }
    const bool stop = t->abort_after >= 0 && strcmp(t->entries[t->abort_after].name, name) == 0;
    if (h->pick != NULL && n_rows == h->pick_from && !table_wants(h, t, name, true)) {
        /* capture only: copy out just the wanted rows, not the whole node */
        const size_t row_bytes = (size_t)n_embd * sizeof(float);
        if (!grow_scratch(h, (size_t)(n_embd * h->n_pick), name)) return true;
        for (int32_t k = 0; k < h->n_pick; k++) {
            h->tensor_get(tensor, h->scratch + (size_t)k * (size_t)n_embd, (size_t)h->pick[k] * row_bytes, row_bytes);
        }
        for (int32_t i = 0; i < t->n_entries; i++) {
            const rudder_entry *e = &t->entries[i];
            if (entry_active(h, e) && strcmp(e->name, name) == 0) apply_entry(h, e, i, h->scratch, n_embd, h->n_pick);
        }
        return !stop;
    }
    const size_t len = (size_t)(n_embd * n_rows);
    if (!grow_scratch(h, len, name)) return true;
    h->tensor_get(tensor, h->scratch, 0, len * sizeof(float));
    bool modified = false;
    for (int32_t i = 0; i < t->n_entries; i++) {
        const rudder_entry *e = &t->entries[i];
        if (!entry_active(h, e) || strcmp(e->name, name) != 0) continue;
        if (e->op != OP_CAPTURE && e->n_embd != n_embd) {
            set_error(h, ERR_N_EMBD, name);
            continue;
        }
        apply_entry(h, e, i, h->scratch, n_embd, n_rows);
        modified = modified || e->op != OP_CAPTURE;
    }
    if (modified) h->tensor_set(tensor, h->scratch, 0, len * sizeof(float));
    /* Returning false aborts the rest of the graph: capture-only runs skip the layers they don't need. */
    return !stop;
}

static bool rudder_cb_eval(void *tensor, bool ask, void *user_data) {
    rudder_hook *h = (rudder_hook *)user_data;
    if (h == NULL) return !ask;
    /* Pinned by begin on this (the decoding) thread; otherwise hold the newest table for this call. */
    rudder_table *t = h->active;
    const bool pinned_here = t == NULL;
    if (pinned_here) t = table_acquire(h);
    bool result;
    if (t->n_entries == 0 && h->observe == NULL) {
        result = !ask;
    } else {
        const char *name = h->get_name(tensor);
        if (ask) {
            h->calls_ask++;
            if (h->observe) {
                const char *base = (const char *)tensor;
                h->observe(name, *(const int32_t *)(base + OFFSET_TYPE), (const int64_t *)(base + OFFSET_NE));
            }
            result = table_wants(h, t, name, false);
        } else {
            result = compute_node(h, t, tensor, name);
        }
    }
    if (pinned_here) table_release(h, t);
    return result;
}

/* ---- the ctypes surface ---------------------------------------------------------------------- */

PyMODINIT_FUNC PyInit__hook(void);

void *rudder_hook_callback(void) { return (void *)&rudder_cb_eval; }

rudder_hook *rudder_hook_new(void *get_name, void *tensor_get, void *tensor_set) {
    rudder_hook *h = (rudder_hook *)calloc(1, sizeof(rudder_hook));
    if (h == NULL) return NULL;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return NULL;
    }
    h->get_name = (get_name_fn)get_name;
    h->tensor_get = (tensor_get_fn)tensor_get;
    h->tensor_set = (tensor_set_fn)tensor_set;
    h->pending = &EMPTY_TABLE;
    return h;
}

/* Only when no decode can run any more (the llama.cpp context is gone). */
void rudder_hook_free(rudder_hook *h) {
    if (h == NULL) return;
    pthread_mutex_lock(&h->lock);
    table_release_locked(h, h->active);
    table_release_locked(h, h->pending);
    pthread_mutex_unlock(&h->lock);
    pthread_mutex_destroy(&h->lock);
    free(h->scratch);
    free(h->pick);
    free(h);
}

/* Build a new table (entries and directions copied) and make it the pending one; safe from any
 * thread, during a decode too. Returns 0; -1 when out of memory (the old table stays); -2 for a bad
 * abort_after or a missing direction. abort_after: index of the entry whose node is the last one the
 * caller needs, or -1. */
int32_t rudder_hook_set_entries(rudder_hook *h, const rudder_entry *entries, int32_t n, int32_t abort_after) {
    if (n < 0 || abort_after < -1 || abort_after >= n) return -2;
    rudder_table *t = &EMPTY_TABLE;
    if (n > 0) {
        size_t floats = 0;
        for (int32_t i = 0; i < n; i++) {
            if (entries[i].op == OP_CAPTURE) continue;
            if (entries[i].direction == NULL || entries[i].n_embd <= 0) return -2;
            floats += (size_t)entries[i].n_embd;
        }
        size_t head = sizeof(rudder_table) + (size_t)n * sizeof(rudder_entry);
        head = (head + 15) & ~(size_t)15;
        t = (rudder_table *)malloc(head + floats * sizeof(float));
        if (t == NULL) return -1;
        t->refs = 1; /* the pending slot's */
        t->n_entries = n;
        t->abort_after = abort_after;
        t->entries = (rudder_entry *)(t + 1);
        memcpy(t->entries, entries, (size_t)n * sizeof(rudder_entry));
        float *dst = (float *)((char *)t + head);
        for (int32_t i = 0; i < n; i++) {
            rudder_entry *e = &t->entries[i];
            e->name[RUDDER_NAME_MAX - 1] = '\0';
            if (e->op == OP_CAPTURE) {
                e->direction = NULL;
                continue;
            }
            memcpy(dst, entries[i].direction, (size_t)e->n_embd * sizeof(float));
            e->direction = dst;
            dst += e->n_embd;
        }
    }
    pthread_mutex_lock(&h->lock);
    if (t != &EMPTY_TABLE) h->tables_made++;
    rudder_table *old = h->pending;
    h->pending = t;
    table_release_locked(h, old); /* freed now only if no decode holds it */
    pthread_mutex_unlock(&h->lock);
    return 0;
}

/* Decode boundaries, called on the decoding thread around llama_decode. */
void rudder_hook_begin(rudder_hook *h, int32_t generating) {
    pthread_mutex_lock(&h->lock);
    table_release_locked(h, h->active);
    h->active = h->pending;
    h->active->refs++;
    pthread_mutex_unlock(&h->lock);
    h->generating = generating;
}

void rudder_hook_end(rudder_hook *h) {
    pthread_mutex_lock(&h->lock);
    table_release_locked(h, h->active);
    h->active = NULL;
    pthread_mutex_unlock(&h->lock);
    h->generating = 0;
}

void rudder_hook_layout(int64_t *offsets) {
    offsets[0] = OFFSET_TYPE;
    offsets[1] = OFFSET_NE;
    offsets[2] = OFFSET_NB;
}

/* Rows a capture copies out of a node of `from_rows` rows (n = 0: every row). Between decodes only.
 * Returns 0; -1 when out of memory, -2 for a row outside the node (then every row is copied). */
int32_t rudder_hook_set_rows(rudder_hook *h, const int64_t *rows, int32_t n, int64_t from_rows) {
    free(h->pick);
    h->pick = NULL;
    h->n_pick = 0;
    if (n <= 0) return 0;
    for (int32_t k = 0; k < n; k++) {
        if (rows[k] < 0 || rows[k] >= from_rows) return -2;
    }
    h->pick = (int64_t *)malloc((size_t)n * sizeof(int64_t));
    if (h->pick == NULL) return -1;
    memcpy(h->pick, rows, (size_t)n * sizeof(int64_t));
    h->n_pick = n;
    h->pick_from = from_rows;
    return 0;
}

void rudder_hook_set_capture(rudder_hook *h, void *capture) { h->capture = (capture_fn)capture; }
void rudder_hook_set_observer(rudder_hook *h, void *observe) { h->observe = (observe_fn)observe; }
int32_t rudder_hook_error(const rudder_hook *h) { return h->error; }
const char *rudder_hook_error_node(const rudder_hook *h) { return h->error_node; }
void rudder_hook_reset_error(rudder_hook *h) {
    h->error = ERR_NONE;
    h->error_node[0] = '\0';
}
int64_t rudder_hook_calls_ask(const rudder_hook *h) { return h->calls_ask; }
int64_t rudder_hook_calls_compute(const rudder_hook *h) { return h->calls_compute; }
int64_t rudder_hook_tables_made(const rudder_hook *h) { return h->tables_made; }
int64_t rudder_hook_tables_freed(const rudder_hook *h) { return h->tables_freed; }
/* Bump when the ctypes surface changes: hook.py refuses a stale build with a clear message. */
int32_t rudder_hook_version(void) { return 2; }
int32_t rudder_hook_entry_size(void) { return (int32_t)sizeof(rudder_entry); }

static struct PyModuleDef hook_module = {PyModuleDef_HEAD_INIT, "_hook",
                                         "Rudder's C graph hook; use it through ctypes.", -1, NULL};

PyMODINIT_FUNC PyInit__hook(void) { return PyModule_Create(&hook_module); }
