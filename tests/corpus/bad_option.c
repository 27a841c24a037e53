/* bad_option - a program that must never start: it is run with LOCKGRAPH_OPTIONS="jsn=x".
 *
 * Checks: an unknown option key is refused before the program runs, with one line naming the
 * key. The program leaves a marker file (argv[1]) as proof whenever it does run.
 * Expected verdict: one error line naming 'jsn', no marker file; exit 2.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
  int fd;

  if (argc < 2)
    return 1;
  fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return 1;
  close(fd);
  printf("bad_option: ran\n");
  return 0;
}
