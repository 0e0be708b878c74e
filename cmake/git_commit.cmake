# Run at every build (not only at configure time): writes OUT from IN with the source tree's
# commit, "-dirty" appended when tracked files differ from it. configure_file leaves OUT alone
# when nothing changed, so an unchanged commit rebuilds nothing.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SRC}
                OUTPUT_VARIABLE GQAFORGE_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE rev_failed)
if(rev_failed OR NOT GQAFORGE_GIT_COMMIT)
  set(GQAFORGE_GIT_COMMIT "unknown")
else()
  execute_process(COMMAND git diff --quiet HEAD -- WORKING_DIRECTORY ${SRC} RESULT_VARIABLE dirty ERROR_QUIET)
  if(dirty)
    set(GQAFORGE_GIT_COMMIT "${GQAFORGE_GIT_COMMIT}-dirty")
  endif()
endif()
configure_file(${IN} ${OUT} @ONLY)
