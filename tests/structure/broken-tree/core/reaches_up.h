// A core file that reaches up into the pipeline: the check must refuse it.
#pragma once

#include "pipeline/stage.h"
