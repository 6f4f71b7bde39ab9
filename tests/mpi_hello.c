// MPI HELLO C
// A real MPI program for tests/test_mpich.py: each rank says which rank it
// is of how many, and the PMI_RANK its launcher gave it, then all wait
// RANK_SLEEP seconds (default 0) and meet at a barrier.

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
  int rank, size;
  const char *pmi_rank = getenv("PMI_RANK");
  const char *delay = getenv("RANK_SLEEP");
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  printf("RANK rank=%d size=%d pmi_rank=%s\n", rank, size,
         pmi_rank ? pmi_rank : "none");
  fflush(stdout);
  if (delay)
    sleep((unsigned) atoi(delay));
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;
}
