# cmake -DDOC=doc.md -DFILE=source -P check_doc_quotes_file.cmake: fails unless the document quotes
# the file whole (a complete example in the docs stays the one the tests build).
file(READ ${DOC} doc)
file(READ ${FILE} text)
string(FIND "${doc}" "${text}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${DOC} does not quote ${FILE} as it is: copy the file into the document again")
endif()
