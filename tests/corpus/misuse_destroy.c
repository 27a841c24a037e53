/* misuse_destroy - locks destroyed while held, and locks used after their destroy.
 *
 * Checks (the argument picks one):
 *   locked_mutex   main locks a mutex and destroys it: glibc refuses with EBUSY;
 *   locked_rwlock  main read-locks an rwlock and destroys it (glibc destroys it anyway);
 *   locked_spin    main locks a spinlock and destroys it (glibc destroys it anyway);
 *   lock_mutex     a mutex destroyed, then locked: EINVAL;
 *   trylock_mutex  a mutex destroyed, then trylocked: EINVAL;
 *   unlock_mutex   a mutex destroyed, then unlocked: EINVAL;
 *   lock_rwlock    an rwlock destroyed, then write-locked (glibc lets it work);
 *   lock_spin      a spinlock destroyed, then locked (glibc lets it work);
 *   uninit_mutex   memory that never held a mutex (a pattern of 0xa5) locked: EINVAL.
 * Expected verdict: one report, "destroy of a locked lock" naming the destroy at
 * LINE:destroy and the holder's lock at LINE:lock, or "use of an invalid lock" naming the use
 * at LINE:use and the destroy at LINE:destroy; errno as the program left it around the
 * reported lock_mutex ("errno kept"); the program runs to its end; exit 66.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock_m;
static pthread_rwlock_t lock_rw;
static pthread_spinlock_t lock_s;

static const char *rc_text(int rc)
{
  return rc == 0 ? "0" : strerror(rc);
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "locked_mutex";
  int rc = 0;

  setvbuf(stdout, NULL, _IOLBF, 0);
  pthread_mutex_init(&lock_m, NULL);
  pthread_rwlock_init(&lock_rw, NULL);
  pthread_spin_init(&lock_s, PTHREAD_PROCESS_PRIVATE);
  if (strcmp(mode, "locked_mutex") == 0) {
    pthread_mutex_lock(&lock_m); /* LINE:lock_mutex */
    rc = pthread_mutex_destroy(&lock_m); /* LINE:destroy_mutex */
    pthread_mutex_unlock(&lock_m);
  } else if (strcmp(mode, "locked_rwlock") == 0) {
    pthread_rwlock_rdlock(&lock_rw); /* LINE:lock_rwlock */
    rc = pthread_rwlock_destroy(&lock_rw); /* LINE:destroy_rwlock */
  } else if (strcmp(mode, "locked_spin") == 0) {
    pthread_spin_lock(&lock_s); /* LINE:lock_spin */
    rc = pthread_spin_destroy(&lock_s); /* LINE:destroy_spin */
  } else if (strcmp(mode, "lock_mutex") == 0 || strcmp(mode, "trylock_mutex") == 0 ||
             strcmp(mode, "unlock_mutex") == 0) {
    pthread_mutex_lock(&lock_m);
    pthread_mutex_unlock(&lock_m);
    pthread_mutex_destroy(&lock_m); /* LINE:destroy_m */
    errno = EILSEQ; /* the detector's report must not change it */
    if (mode[0] == 'l')
      rc = pthread_mutex_lock(&lock_m); /* LINE:use_lock */
    else if (mode[0] == 't')
      rc = pthread_mutex_trylock(&lock_m); /* LINE:use_trylock */
    else
      rc = pthread_mutex_unlock(&lock_m); /* LINE:use_unlock */
    if (errno == EILSEQ)
      printf("misuse_destroy: errno kept\n");
  } else if (strcmp(mode, "lock_rwlock") == 0) {
    pthread_rwlock_destroy(&lock_rw); /* LINE:destroy_rw */
    rc = pthread_rwlock_wrlock(&lock_rw); /* LINE:use_rwlock */
    if (rc == 0)
      pthread_rwlock_unlock(&lock_rw);
  } else if (strcmp(mode, "lock_spin") == 0) {
    pthread_spin_destroy(&lock_s); /* LINE:destroy_s */
    rc = pthread_spin_lock(&lock_s); /* LINE:use_spin */
    if (rc == 0)
      pthread_spin_unlock(&lock_s);
  } else if (strcmp(mode, "uninit_mutex") == 0) {
    pthread_mutex_t *garbage = (pthread_mutex_t *)&lock_rw; /* not a mutex: a pattern */
    memset(garbage, 0xa5, sizeof *garbage);
    rc = pthread_mutex_lock(garbage); /* LINE:use_uninit */
  }
  printf("misuse_destroy: %s returned %s\n", mode, rc_text(rc));
  printf("misuse_destroy: done\n");
  return 0;
}
