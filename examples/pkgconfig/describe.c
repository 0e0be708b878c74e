/* The smallest consumer, built without CMake (strict C99, only the C API):
 *
 *   cc -std=c99 describe.c -o describe $(pkg-config --cflags --libs gqaforge)
 *   ./describe LIBRARY.gqalib
 *
 * Opens the library and prints the kernel it dispatches a decode step of 8:1 heads at head dim
 * 64, batch 4, 16K keys to. Needs no GPU. */
#include <gqaforge/gqaforge.h>

#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  gqaforge_library* library = NULL;
  gqaforge_plan* plan = NULL;
  gqaforge_plan_info info;
  gqaforge_problem problem;
  gqaforge_status status;
  if (argc != 2) {
    fprintf(stderr, "usage: %s LIBRARY.gqalib\n", argv[0]);
    return 2;
  }
  status = gqaforge_library_open(argv[1], NULL, &library);
  if (status == GQAFORGE_STATUS_OK) {
    problem = gqaforge_problem_make(GQAFORGE_PHASE_DECODE, GQAFORGE_DTYPE_BF16, 8, 1, 64, 1, 4, 1, 16384);
    status = gqaforge_plan_create(library, &problem, 0, &plan);
  }
  if (status == GQAFORGE_STATUS_OK) {
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    status = gqaforge_plan_describe(plan, &info);
  }
  if (status != GQAFORGE_STATUS_OK) {
    fprintf(stderr, "%s: %s\n", gqaforge_status_name(status), gqaforge_last_error());
  } else {
    printf("gqaforge %s: %s -> %s\n  %s\n", gqaforge_version_string(), info.kernel_class, info.config, info.reason);
  }
  gqaforge_plan_destroy(plan);
  gqaforge_library_close(library);
  return status == GQAFORGE_STATUS_OK ? 0 : 1;
}
