/* unwritable_report - a program that must never start: its JSON report cannot be written.
 *
 * Checks: `lockgraph --json /nonexistent/dir/r.json -- prog` fails up front with one line
 * naming the path, rather than running the program and losing its report. The program
 * leaves a marker file (argv[1]) as proof whenever it does run.
 * Expected verdict: one error line naming the path, no marker file; a non-zero exit.
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
  printf("unwritable_report: ran\n");
  return 0;
}
