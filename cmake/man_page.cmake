# Generates one gzipped man page with help2man from `nsnet --help` (VERB empty: nsnet.1) or
# `nsnet VERB --help` (nsnet-VERB.1). Run by the build (launcher/CMakeLists.txt):
#   cmake -DHELP2MAN=... -DGZIP=... -DNSNET=bin/nsnet -DVERB=run -DSUMMARY="..." \
#         -DOUTPUT=man/nsnet-run.1.gz -P man_page.cmake
# The verbs have no --version of their own: help2man asks `nsnet --version` ("nsnet 0.1.0"), so it
# names every page "nsnet"; the verb pages are renamed nsnet-VERB here (title and NAME).

foreach(var IN ITEMS HELP2MAN GZIP NSNET SUMMARY OUTPUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "man_page.cmake: ${var} not set")
  endif()
endforeach()

if(VERB)
  set(page nsnet-${VERB})
  set(help_option "${VERB} --help")
else()
  set(page nsnet)
  set(help_option "--help")
endif()
string(REGEX REPLACE "\\.gz$" "" man_file "${OUTPUT}")
get_filename_component(out_dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${out_dir}")

# SEE ALSO: the other pages.
set(see_also "nsnet(1)")
foreach(verb IN ITEMS run net lab ps exec stop gc)
  string(APPEND see_also ", nsnet-${verb}(1)")
endforeach()
string(APPEND see_also ", unshare(1), slirp4netns(1)")
set(include_file "${man_file}.h2m")
file(WRITE "${include_file}" "[SEE ALSO]\n${see_also}\n")

# A sanitizer build's nsnet exits non-zero on a leak report; --help is not where leaks are checked.
set(ENV{ASAN_OPTIONS} "detect_leaks=0")
execute_process(
  COMMAND "${HELP2MAN}" --no-info --section=1 "--help-option=${help_option}"
          --version-option=--version "--name=${SUMMARY}" "--include=${include_file}"
          "--output=${man_file}" "${NSNET}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed for ${page} (${rc})")
endif()
file(REMOVE "${include_file}")

if(VERB)
  file(READ "${man_file}" text)
  string(TOUPPER "${page}" title)
  string(REGEX REPLACE "\n\\.TH NSNET " "\n.TH ${title} " text "${text}")
  string(REGEX REPLACE "\n\\.SH NAME\nnsnet \\\\- " "\n.SH NAME\n${page} \\\\- " text "${text}")
  file(WRITE "${man_file}" "${text}")
endif()

# -n: no name or time stamp inside, so the same page gzips to the same bytes.
execute_process(COMMAND "${GZIP}" -9 -n -f "${man_file}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip ${man_file} failed (${rc})")
endif()
