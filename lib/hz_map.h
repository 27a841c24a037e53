/* hz_map.h - a map from int ids to long values, "thread-safe" one operation at a time.
 *
 * Every function takes the map's one mutex for its own duration and no longer. That makes
 * each call safe to make from any thread, and it is exactly what the lesson warns about
 * (section 24): a caller that combines two calls, `if (!hz_map_contains(m, k)) hz_map_put(m,
 * k, v)`, has a race no data-race detector can see, because every access is locked. Use
 * hz_map_put_if_absent when the check and the set must be one step.
 *
 * The table grows (open addressing, linear probing, load factor at most 1/2). Keys may be any
 * int. The map owns its memory; hz_map_destroy must not race with any other call.
 */
#ifndef HZ_MAP_H
#define HZ_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hz_map hz_map_t;

/* Creates an empty map sized for about capacity_hint keys (0 = a small default).
 * Returns 0 or -ENOMEM. */
int hz_map_create(hz_map_t **out, size_t capacity_hint);

/* Frees the map. No other call may run concurrently or follow. NULL is ignored. */
void hz_map_destroy(hz_map_t *m);

/* Whether key is present right now; the answer may be stale as soon as the call returns. */
bool hz_map_contains(hz_map_t *m, int key);

/* Copies key's value into *value. Returns 0 or -ENOENT. */
int hz_map_get(hz_map_t *m, int key, long *value);

/* Inserts key or overwrites its value. Returns 0 or -ENOMEM (the map is unchanged). */
int hz_map_put(hz_map_t *m, int key, long value);

/* Inserts key only if absent, as one locked step. Returns 0 when this call inserted it,
 * -EEXIST when the key was already there (its value is untouched), or -ENOMEM. */
int hz_map_put_if_absent(hz_map_t *m, int key, long value);

/* Number of keys. */
size_t hz_map_size(hz_map_t *m);

#endif
