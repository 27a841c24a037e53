/* sarif.c - JSON Lines reports to a SARIF 2.1.0 log; the contract is in sarif.h.
 *
 * The JSON is never built into a tree: a report line is scanned in place (find a member, step
 * through an array, copy a string out), which needs no allocation, and report lines are small.
 * Two passes over the input: the first collects the rules (one per report type, in order of
 * first appearance), so the log can name them before the results that point at them.
 */
#define _GNU_SOURCE
#include "sarif.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "decimal.h"

/* ---- scanning JSON in place ---- */

typedef struct js {
  const char *p, *end;
} js_t;

static const char *js_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

/* Past the string starting at p ('"'), or NULL. */
static const char *js_skip_string(const char *p, const char *end) {
  for (p++; p < end; p++) {
    if (*p == '\\')
      p++;
    else if (*p == '"')
      return p + 1;
  }
  return NULL;
}

/* Past the value starting at p (after blanks), or NULL when malformed. Nesting is followed
 * with a counter, not recursion. */
static const char *js_skip(const char *p, const char *end) {
  p = js_ws(p, end);
  if (p >= end)
    return NULL;
  if (*p == '"')
    return js_skip_string(p, end);
  if (*p != '{' && *p != '[') {
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n')
      p++;
    return p;
  }
  int depth = 0;
  for (; p < end; p++) {
    if (*p == '"') {
      p = js_skip_string(p, end);
      if (p == NULL)
        return NULL;
      p--;
    } else if (*p == '{' || *p == '[') {
      depth++;
    } else if (*p == '}' || *p == ']') {
      if (--depth == 0)
        return p + 1;
    }
  }
  return NULL;
}

/* The value of member `key` of the object at v, or a value with p == NULL. */
static js_t js_get(js_t v, const char *key) {
  js_t none = {NULL, v.end};
  const char *p = v.p ? js_ws(v.p, v.end) : NULL;
  if (p == NULL || p >= v.end || *p != '{')
    return none;
  size_t klen = strlen(key);
  p++;
  for (;;) {
    p = js_ws(p, v.end);
    if (p >= v.end || *p != '"')
      return none;
    const char *k = p + 1, *kend = js_skip_string(p, v.end);
    if (kend == NULL)
      return none;
    int match = (size_t)(kend - 1 - k) == klen && memcmp(k, key, klen) == 0;
    p = js_ws(kend, v.end);
    if (p >= v.end || *p != ':')
      return none;
    const char *val = js_ws(p + 1, v.end);
    if (match)
      return (js_t){val, v.end};
    p = js_skip(val, v.end);
    if (p == NULL)
      return none;
    p = js_ws(p, v.end);
    if (p >= v.end || *p != ',')
      return none;
    p++;
  }
}

static int js_is(js_t v, char c) {
  return v.p != NULL && v.p < v.end && *v.p == c;
}

/* First element of the array at v, or p == NULL when it is empty or not an array. */
static js_t js_first(js_t v) {
  js_t none = {NULL, v.end};
  if (!js_is(v, '['))
    return none;
  const char *p = js_ws(v.p + 1, v.end);
  if (p >= v.end || *p == ']')
    return none;
  return (js_t){p, v.end};
}

static js_t js_next(js_t v) {
  js_t none = {NULL, v.end};
  const char *p = js_skip(v.p, v.end);
  if (p == NULL)
    return none;
  p = js_ws(p, v.end);
  if (p >= v.end || *p != ',')
    return none;
  return (js_t){js_ws(p + 1, v.end), v.end};
}

static size_t js_utf8(char *out, unsigned long c) {
  if (c < 0x80) {
    out[0] = (char)c;
    return 1;
  }
  if (c < 0x800) {
    out[0] = (char)(0xc0 | c >> 6);
    out[1] = (char)(0x80 | (c & 0x3f));
    return 2;
  }
  if (c < 0x10000) {
    out[0] = (char)(0xe0 | c >> 12);
    out[1] = (char)(0x80 | (c >> 6 & 0x3f));
    out[2] = (char)(0x80 | (c & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | c >> 18);
  out[1] = (char)(0x80 | (c >> 12 & 0x3f));
  out[2] = (char)(0x80 | (c >> 6 & 0x3f));
  out[3] = (char)(0x80 | (c & 0x3f));
  return 4;
}

static unsigned long js_hex4(const char *p, const char *end) {
  unsigned long c = 0;
  for (int i = 0; i < 4; i++) {
    if (p + i >= end)
      return 0xfffd;
    char h = p[i];
    c = c * 16 + (unsigned long)(h >= '0' && h <= '9'   ? h - '0'
                                 : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                 : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                        : 0);
  }
  return c;
}

/* Copies the string at v, unescaped, into out (cut to fit); "" and -1 when v is no string. */
static int js_str(js_t v, char *out, size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  if (!js_is(v, '"'))
    return -1;
  for (const char *p = v.p + 1; p < v.end && *p != '"'; p++) {
    char tmp[8];
    size_t k = 1;
    tmp[0] = *p;
    if (*p == '\\' && p + 1 < v.end) {
      p++;
      switch (*p) {
      case 'n': tmp[0] = '\n'; break;
      case 't': tmp[0] = '\t'; break;
      case 'r': tmp[0] = '\r'; break;
      case 'b': tmp[0] = '\b'; break;
      case 'f': tmp[0] = '\f'; break;
      case 'u': {
        unsigned long c = js_hex4(p + 1, v.end);
        p += 4;
        if (c >= 0xd800 && c < 0xdc00 && p + 6 < v.end && p[1] == '\\' && p[2] == 'u') {
          unsigned long lo = js_hex4(p + 3, v.end);
          if (lo >= 0xdc00 && lo < 0xe000) {
            c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
          }
        }
        k = js_utf8(tmp, c);
        break;
      }
      default: tmp[0] = *p; break;
      }
    }
    if (n + k >= cap)
      break;
    memcpy(out + n, tmp, k);
    n += k;
  }
  out[n] = '\0';
  return 0;
}

static long js_long(js_t v) {
  if (v.p == NULL)
    return -1;
  const char *p = v.p;
  long x = 0;
  int any = 0;
  while (p < v.end && *p >= '0' && *p <= '9' && x < 100000000) {
    x = x * 10 + (*p++ - '0');
    any = 1;
  }
  return any ? x : -1;
}

/* Whether two values are the same text (a stack listed twice in one report). */
static int js_same(js_t a, js_t b) {
  const char *ae = js_skip(a.p, a.end), *be = js_skip(b.p, b.end);
  return ae && be && ae - a.p == be - b.p && memcmp(a.p, b.p, (size_t)(ae - a.p)) == 0;
}

/* ---- writing ---- */

typedef struct sw {
  int fd;
  int err; /* first write error, negative errno */
  size_t n;
  char b[1 << 16];
} sw_t;

static sw_t lg_sw; /* one conversion at a time (sarif.h) */

static void sw_flush(sw_t *w) {
  size_t off = 0;
  while (off < w->n && w->err == 0) {
    ssize_t k = write(w->fd, w->b + off, w->n - off);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      w->err = k < 0 ? -errno : -EIO;
      break;
    }
    off += (size_t)k;
  }
  w->n = 0;
}

static void sw_mem(sw_t *w, const char *s, size_t n) {
  while (n > 0) {
    if (w->n == sizeof w->b)
      sw_flush(w);
    size_t k = sizeof w->b - w->n < n ? sizeof w->b - w->n : n;
    memcpy(w->b + w->n, s, k);
    w->n += k;
    s += k;
    n -= k;
  }
}

static void sw_s(sw_t *w, const char *s) {
  sw_mem(w, s, strlen(s));
}

static void sw_uint(sw_t *w, unsigned long v) {
  char d[LG_DECIMAL_MAX];
  sw_mem(w, d, lg_decimal_of(d, v));
}

/* A JSON string; bytes that are not valid UTF-8 become U+FFFD, as SARIF is UTF-8 text. */
static void sw_json(sw_t *w, const char *s) {
  static const char hex[] = "0123456789abcdef";
  sw_s(w, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      sw_mem(w, e, 2);
    } else if (c == '\n') {
      sw_s(w, "\\n");
    } else if (c < 0x20 || c == 0x7f) {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      sw_mem(w, e, 6);
    } else if (c < 0x80) {
      sw_mem(w, (const char *)p, 1);
    } else {
      size_t k = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
      size_t ok = k;
      for (size_t i = 1; i < k; i++)
        if ((p[i] & 0xc0) != 0x80)
          ok = 0;
      if (ok) {
        sw_mem(w, (const char *)p, k);
        p += k - 1;
      } else {
        sw_s(w, "\xef\xbf\xbd");
      }
    }
  }
  sw_s(w, "\"");
}

/* A path as a URI reference: every byte but the unreserved ones and '/' percent-encoded. */
static void sw_uri_path(sw_t *w, const char *path) {
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    unsigned char c = *p;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || c == '/') {
      sw_mem(w, (const char *)p, 1);
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      sw_mem(w, e, 3);
    }
  }
}

/* ---- rules ---- */

typedef struct lg_sarif_rule {
  char id[64];
} lg_sarif_rule_t;

static lg_sarif_rule_t lg_rules[LG_SARIF_RULES_MAX];
static unsigned lg_nrules;

/* Words for the kinds the runtime has today; any other type still gets a rule. */
static const struct {
  const char *type, *name, *brief, *full;
} lg_rule_words[] = {
    {"potential-deadlock", "LockOrderCycle", "Lock-order cycle (potential deadlock)",
     "Threads took the same locks in orders that form a cycle. The run may have finished, but "
     "two threads taking these orders at the same time wait for each other forever. Each edge "
     "of the cycle is given with both stacks: where the held lock was taken and where the next "
     "one was."},
    {"deadlock", "DeadlockHappened", "Deadlock that happened",
     "Threads were blocked in a cycle, each waiting for a lock another one holds; the watchdog "
     "ended the run instead of letting it hang. The stack of every blocked thread is given."},
    {"self-deadlock", "LockRelockedByOwner", "Lock relocked by its owner",
     "A thread acquired a non-recursive lock it already holds: it waits for itself forever "
     "(or, for an error-checking mutex, the call fails)."},
};

static int lg_rule_index(const char *type, int add) {
  for (unsigned i = 0; i < lg_nrules; i++)
    if (strcmp(lg_rules[i].id, type) == 0)
      return (int)i;
  if (!add || lg_nrules == LG_SARIF_RULES_MAX)
    return -1;
  size_t n = strlen(type);
  if (n >= sizeof lg_rules[0].id)
    n = sizeof lg_rules[0].id - 1;
  memcpy(lg_rules[lg_nrules].id, type, n);
  lg_rules[lg_nrules].id[n] = '\0';
  return (int)lg_nrules++;
}

/* "potential-deadlock" -> "potential deadlock"; with `camel`, "PotentialDeadlock". */
static void lg_type_words(const char *type, char *out, size_t cap, int camel) {
  size_t n = 0;
  int up = camel;
  for (const char *p = type; *p && n + 1 < cap; p++) {
    char c = *p;
    if (c == '-' || c == '_' || c == ' ') {
      if (camel)
        up = 1;
      else
        out[n++] = ' ';
      continue;
    }
    out[n++] = up && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    up = 0;
  }
  out[n] = '\0';
}

static void sw_rule(sw_t *w, const char *type) {
  const char *name = NULL, *brief = NULL, *full = NULL;
  for (size_t i = 0; i < sizeof lg_rule_words / sizeof lg_rule_words[0]; i++)
    if (strcmp(lg_rule_words[i].type, type) == 0) {
      name = lg_rule_words[i].name;
      brief = lg_rule_words[i].brief;
      full = lg_rule_words[i].full;
    }
  /* A rule's name must differ from its id, in letter case too: "hang" is named "HangReport". */
  char camel[96], words[96], text[160];
  lg_type_words(type, camel, sizeof camel, 1);
  strncat(camel, "Report", sizeof camel - strlen(camel) - 1);
  lg_type_words(type, words, sizeof words, 0);
  memcpy(text, "lockgraph report: ", 19);
  strncat(text, words, sizeof text - strlen(text) - 1);
  sw_s(w, "{\"id\":");
  sw_json(w, type);
  sw_s(w, ",\"name\":");
  sw_json(w, name ? name : camel);
  sw_s(w, ",\"shortDescription\":{\"text\":");
  sw_json(w, brief ? brief : text);
  sw_s(w, "},\"fullDescription\":{\"text\":");
  sw_json(w, full ? full : text);
  sw_s(w, "},\"help\":{\"text\":\"See lockgraph(1), REPORTS.\"}");
  sw_s(w, ",\"defaultConfiguration\":{\"level\":\"error\"}}");
}

/* ---- one report ---- */

#define LG_SARIF_STACKS 64
#define LG_SARIF_TEXT 1024

typedef struct lg_stackref {
  js_t stack;
  char label[256];
  int flow;    /* thread flow it belongs to */
  int acquire; /* an acquisition stack: a candidate for the primary location */
} lg_stackref_t;

static lg_stackref_t lg_refs[LG_SARIF_STACKS];
static char lg_text[LG_SARIF_TEXT];

static void lg_ref_add(unsigned *n, js_t stack, int flow, int acquire, const char *label) {
  if (*n == LG_SARIF_STACKS || !js_is(stack, '['))
    return;
  lg_stackref_t *r = &lg_refs[*n];
  r->stack = stack;
  r->flow = flow;
  r->acquire = acquire;
  size_t k = strlen(label);
  if (k >= sizeof r->label)
    k = sizeof r->label - 1;
  memcpy(r->label, label, k);
  r->label[k] = '\0';
  (*n)++;
}

static void lg_cat(char *dst, size_t cap, const char *a, const char *b, const char *c,
                   const char *d) {
  const char *parts[4] = {a, b, c, d};
  size_t n = strlen(dst);
  for (int i = 0; i < 4; i++)
    for (const char *p = parts[i]; p && *p && n + 1 < cap; p++)
      dst[n++] = *p;
  dst[n] = '\0';
}

/* Every stack of the report, labelled; duplicates (one stack listed twice) dropped. */
static unsigned lg_collect_stacks(js_t rep) {
  unsigned n = 0;
  int flow = 0;
  char from[64], to[64], th[64], label[256];
  for (js_t e = js_first(js_get(rep, "edges")); e.p; e = js_next(e), flow++) {
    js_str(js_get(e, "from"), from, sizeof from);
    js_str(js_get(e, "to"), to, sizeof to);
    js_str(js_get(e, "thread"), th, sizeof th);
    label[0] = '\0';
    lg_cat(label, sizeof label, from[0] ? from : "a lock", " acquired by thread ", th,
           to[0] ? " (held while it acquires " : "");
    lg_cat(label, sizeof label, to, to[0] ? ")" : "", NULL, NULL);
    lg_ref_add(&n, js_get(e, "held_stack"), flow, 0, label);
    label[0] = '\0';
    lg_cat(label, sizeof label, to[0] ? to : "a lock", " acquired by thread ", th,
           from[0] ? " while holding " : "");
    lg_cat(label, sizeof label, from, NULL, NULL, NULL);
    lg_ref_add(&n, js_get(e, "acquire_stack"), flow, 1, label);
  }
  for (js_t t = js_first(js_get(rep, "threads")); t.p; t = js_next(t), flow++) {
    js_str(js_get(t, "name"), th, sizeof th);
    js_str(js_get(t, "waits_for"), to, sizeof to);
    label[0] = '\0';
    lg_cat(label, sizeof label, "thread ", th[0] ? th : "?", to[0] ? " waits for " : " stack", to);
    lg_ref_add(&n, js_get(t, "stack"), flow, 1, label);
  }
  for (js_t s = js_first(js_get(rep, "sections")); s.p; s = js_next(s), flow++) {
    js_str(js_get(s, "label"), label, sizeof label);
    lg_ref_add(&n, js_get(s, "stack"), flow, 0, label[0] ? label : "stack");
  }
  static const char *const top_keys[] = {"acquire_stack", "held_stack", "stack"};
  for (int i = 0; i < 3; i++, flow++)
    lg_ref_add(&n, js_get(rep, top_keys[i]), flow, i == 0, top_keys[i]);
  /* The same stack under two labels (a self-deadlock's edge and its thread): keep the first. */
  unsigned kept = 0;
  for (unsigned i = 0; i < n; i++) {
    int dup = 0;
    for (unsigned j = 0; j < kept && !dup; j++)
      dup = lg_refs[j].flow != lg_refs[i].flow && js_same(lg_refs[j].stack, lg_refs[i].stack);
    if (!dup)
      lg_refs[kept++] = lg_refs[i];
  }
  return kept;
}

/* The result's message: "message" when there is one, else the type in words, the cycle, and
 * the scenario. */
static void lg_message(js_t rep, const char *type) {
  char part[512];
  lg_text[0] = '\0';
  if (js_str(js_get(rep, "message"), part, sizeof part) == 0 && part[0]) {
    lg_type_words(type, lg_text, sizeof lg_text, 0);
    lg_cat(lg_text, sizeof lg_text, ": ", part, NULL, NULL);
    return;
  }
  lg_type_words(type, lg_text, sizeof lg_text, 0);
  js_t c = js_first(js_get(rep, "cycle"));
  if (c.p) {
    lg_cat(lg_text, sizeof lg_text, " (cycle", NULL, NULL, NULL);
    for (int i = 0; c.p; c = js_next(c), i++) {
      js_str(c, part, sizeof part);
      lg_cat(lg_text, sizeof lg_text, i ? " -> " : " ", part, NULL, NULL);
    }
    lg_cat(lg_text, sizeof lg_text, ")", NULL, NULL, NULL);
  }
  const char *sep = ": ";
  for (js_t s = js_first(js_get(rep, "scenario")); s.p; s = js_next(s)) {
    js_str(s, part, sizeof part);
    lg_cat(lg_text, sizeof lg_text, sep, part, NULL, NULL);
    sep = "; ";
  }
}

/* Whether a frame's file can be a location: absolute, or relative to the working directory
 * (not "./x" or "../x", which a compiler left relative to a directory we do not know). */
static int lg_file_usable(const char *file) {
  return file[0] != '\0' && strncmp(file, "./", 2) != 0 && strncmp(file, "../", 3) != 0;
}

static void sw_physical(sw_t *w, const char *file, long line) {
  sw_s(w, "\"physicalLocation\":{\"artifactLocation\":{\"uri\":\"");
  if (file[0] == '/') {
    sw_s(w, "file://");
    sw_uri_path(w, file);
    sw_s(w, "\"}");
  } else {
    sw_uri_path(w, file);
    sw_s(w, "\",\"uriBaseId\":\"SRCROOT\"}");
  }
  sw_s(w, ",\"region\":{\"startLine\":");
  sw_uint(w, (unsigned long)line);
  sw_s(w, "}}");
}

/* A location object for one frame (id < 0: none); returns 0 when the frame has nothing to
 * show. */
static int sw_frame_location(sw_t *w, js_t frame, int id, const char *msg) {
  char fn[512], file[1024];
  js_str(js_get(frame, "function"), fn, sizeof fn);
  js_str(js_get(frame, "file"), file, sizeof file);
  long line = js_long(js_get(frame, "line"));
  int phys = lg_file_usable(file) && line > 0;
  if (!phys && !fn[0])
    return 0;
  sw_s(w, "{");
  const char *sep = "";
  if (id >= 0) {
    sw_s(w, "\"id\":");
    sw_uint(w, (unsigned long)id);
    sep = ",";
  }
  if (phys) {
    sw_s(w, sep);
    sw_physical(w, file, line);
    sep = ",";
  }
  if (fn[0]) {
    sw_s(w, sep);
    sw_s(w, "\"logicalLocations\":[{\"fullyQualifiedName\":");
    sw_json(w, fn);
    sw_s(w, ",\"kind\":\"function\"}]");
    sep = ",";
  }
  if (msg != NULL) {
    sw_s(w, sep);
    sw_s(w, "\"message\":{\"text\":");
    sw_json(w, msg);
    sw_s(w, "}");
  }
  sw_s(w, "}");
  return 1;
}

/* The frame a stack is shown at: its first frame with a usable source line, else its first. */
static js_t lg_top_frame(js_t stack) {
  js_t first = js_first(stack);
  for (js_t f = first; f.p; f = js_next(f)) {
    char file[1024];
    js_str(js_get(f, "file"), file, sizeof file);
    if (lg_file_usable(file) && js_long(js_get(f, "line")) > 0)
      return f;
  }
  return first;
}

static void sw_result(sw_t *w, js_t rep, const char *type, int first) {
  unsigned n = lg_collect_stacks(rep);
  lg_message(rep, type);
  int primary = -1;
  for (unsigned i = 0; i < n && primary < 0; i++)
    if (lg_refs[i].acquire)
      primary = (int)i;
  if (primary < 0 && n > 0)
    primary = 0;

  sw_s(w, first ? "\n    {" : ",\n    {");
  sw_s(w, "\"ruleId\":");
  sw_json(w, type);
  int ri = lg_rule_index(type, 0);
  if (ri >= 0) {
    sw_s(w, ",\"ruleIndex\":");
    sw_uint(w, (unsigned long)ri);
  }
  sw_s(w, ",\"level\":\"error\",\"message\":{\"text\":");
  sw_json(w, lg_text);
  sw_s(w, "}");
  if (primary >= 0) {
    sw_s(w, ",\"locations\":[");
    js_t f = lg_top_frame(lg_refs[primary].stack);
    if (!f.p || !sw_frame_location(w, f, -1, lg_refs[primary].label))
      sw_s(w, "{\"message\":{\"text\":\"no source line known\"}}");
    sw_s(w, "]");
  }
  if (n > 1) {
    sw_s(w, ",\"relatedLocations\":[");
    int id = 0;
    for (unsigned i = 0; i < n; i++) {
      if ((int)i == primary)
        continue;
      js_t f = lg_top_frame(lg_refs[i].stack);
      if (!f.p)
        continue;
      if (id > 0)
        sw_s(w, ",");
      if (sw_frame_location(w, f, id, lg_refs[i].label))
        id++;
      else if (id > 0)
        w->n--; /* take the comma back */
    }
    sw_s(w, "]");
  }
  if (n > 0) {
    /* One thread flow per flow number, its stacks' top frames in order. */
    sw_s(w, ",\"codeFlows\":[{\"threadFlows\":[");
    int nflows = 0;
    for (unsigned i = 0; i < n; i++) {
      if (i > 0 && lg_refs[i].flow == lg_refs[i - 1].flow)
        continue;
      sw_s(w, nflows++ ? ",{\"locations\":[" : "{\"locations\":[");
      int nl = 0;
      for (unsigned j = i; j < n && lg_refs[j].flow == lg_refs[i].flow; j++) {
        js_t f = lg_top_frame(lg_refs[j].stack);
        sw_s(w, nl++ ? ",{\"location\":" : "{\"location\":");
        if (!f.p || !sw_frame_location(w, f, -1, lg_refs[j].label)) {
          sw_s(w, "{\"message\":{\"text\":");
          sw_json(w, lg_refs[j].label);
          sw_s(w, "}}");
        }
        sw_s(w, "}");
      }
      sw_s(w, "]}");
    }
    sw_s(w, "]}]");
    sw_s(w, ",\"stacks\":[");
    for (unsigned i = 0; i < n; i++) {
      sw_s(w, i ? ",{\"message\":{\"text\":" : "{\"message\":{\"text\":");
      sw_json(w, lg_refs[i].label);
      sw_s(w, "},\"frames\":[");
      int nf = 0;
      for (js_t f = js_first(lg_refs[i].stack); f.p; f = js_next(f)) {
        char module[512];
        js_str(js_get(f, "module"), module, sizeof module);
        size_t mark = w->n;
        sw_s(w, nf ? ",{\"location\":" : "{\"location\":");
        if (!sw_frame_location(w, f, -1, NULL)) {
          if (w->n >= mark) {
            w->n = mark; /* nothing to show for this frame */
            continue;
          }
          sw_s(w, "{}");
        }
        if (module[0]) {
          sw_s(w, ",\"module\":");
          sw_json(w, module);
        }
        sw_s(w, "}");
        nf++;
      }
      sw_s(w, "]}");
    }
    sw_s(w, "]");
  }
  long k = js_long(js_get(rep, "report"));
  if (k >= 0) {
    sw_s(w, ",\"properties\":{\"report\":");
    sw_uint(w, (unsigned long)k);
    sw_s(w, "}");
  }
  sw_s(w, "}");
}

/* ---- reading lines ---- */

static char lg_line[LG_SARIF_LINE_MAX];

typedef struct lg_reader {
  int fd;
  off_t off;  /* of the next line */
  int err;
} lg_reader_t;

/* The next line into lg_line (without its newline); its length, or -1 at the end. A line
 * too long for the buffer is skipped, with *skipped counted. */
static long lg_read_line(lg_reader_t *r, unsigned *skipped) {
  for (;;) {
    ssize_t k;
    do
      k = pread(r->fd, lg_line, sizeof lg_line, r->off);
    while (k < 0 && errno == EINTR);
    if (k < 0) {
      r->err = -errno;
      return -1;
    }
    if (k == 0)
      return -1;
    char *nl = memchr(lg_line, '\n', (size_t)k);
    if (nl != NULL) {
      r->off += nl - lg_line + 1;
      return nl - lg_line;
    }
    if ((size_t)k < sizeof lg_line) { /* the last line, unterminated (cut by a kill) */
      r->off += k;
      return k;
    }
    /* Too long: skip to the next newline. */
    r->off += k;
    (*skipped)++;
    for (;;) {
      do
        k = pread(r->fd, lg_line, sizeof lg_line, r->off);
      while (k < 0 && errno == EINTR);
      if (k <= 0)
        return -1;
      nl = memchr(lg_line, '\n', (size_t)k);
      if (nl != NULL) {
        r->off += nl - lg_line + 1;
        break;
      }
      r->off += k;
    }
  }
}

/* The report object of a line, its type in `type`; p == NULL for anything else (blank, not
 * an object, no type, the summary). A line cut short is counted as skipped. */
static js_t lg_report_of(long len, char *type, size_t cap, unsigned *skipped) {
  js_t none = {NULL, NULL};
  js_t v = {lg_line, lg_line + len};
  v.p = js_ws(v.p, v.end);
  if (v.p >= v.end)
    return none;
  if (*v.p != '{' || js_skip(v.p, v.end) == NULL || js_str(js_get(v, "type"), type, cap) != 0 ||
      type[0] == '\0') {
    (*skipped)++;
    return none;
  }
  if (strcmp(type, "summary") == 0)
    return none;
  return v;
}

int lg_sarif_convert(int in_fd, int out_fd, const char *version, const char *src_root,
                     lg_sarif_stats_t *stats) {
  sw_t *w = &lg_sw;
  w->fd = out_fd;
  w->err = 0;
  w->n = 0;
  lg_nrules = 0;
  unsigned skipped = 0, results = 0, ignore = 0;
  char type[64];

  lg_reader_t rd = {in_fd, 0, 0};
  long len;
  while ((len = lg_read_line(&rd, &ignore)) >= 0)
    if (lg_report_of(len, type, sizeof type, &ignore).p)
      lg_rule_index(type, 1);

  sw_s(w, "{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\","
          "\"runs\":[{\"tool\":{\"driver\":{\"name\":\"lockgraph\",\"version\":");
  sw_json(w, version);
  sw_s(w, ",\"semanticVersion\":");
  sw_json(w, version);
  sw_s(w, ",\"rules\":[");
  for (unsigned i = 0; i < lg_nrules; i++) {
    sw_s(w, i ? ",\n    " : "\n    ");
    sw_rule(w, lg_rules[i].id);
  }
  sw_s(w, "]}}");
  if (src_root != NULL && src_root[0] == '/') {
    sw_s(w, ",\"originalUriBaseIds\":{\"SRCROOT\":{\"uri\":\"file://");
    sw_uri_path(w, src_root);
    if (src_root[strlen(src_root) - 1] != '/')
      sw_s(w, "/");
    sw_s(w, "\"}}");
  }
  sw_s(w, ",\"results\":[");
  rd = (lg_reader_t){in_fd, 0, 0};
  while ((len = lg_read_line(&rd, &skipped)) >= 0) {
    js_t rep = lg_report_of(len, type, sizeof type, &skipped);
    if (rep.p == NULL)
      continue;
    sw_result(w, rep, type, results == 0);
    results++;
  }
  sw_s(w, "]");
  if (skipped) {
    sw_s(w, ",\"properties\":{\"skippedReportLines\":");
    sw_uint(w, skipped);
    sw_s(w, "}");
  }
  sw_s(w, "}]}\n");
  sw_flush(w);
  if (stats != NULL) {
    stats->results = results;
    stats->skipped = skipped;
  }
  return rd.err ? rd.err : w->err;
}
