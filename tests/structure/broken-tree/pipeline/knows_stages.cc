// The core may not register stages or include a stage.
#include "inputs/dir_input.h"

void f() { register_dir_input(r); }
