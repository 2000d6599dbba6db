/* Gradient-check cases for the attack family (see gradcheck.h for the row format): the per-example
 * logit losses of the attacks, one row per kind; labels, targets and kind are int64 constants. */
#include "gradcheck.h"

#define AL "AttackLoss"

const gc_case gc_cases_attack[] = {
    {AL, "ce", {"4,5", "4", "4", "1"}, .wrt = 1, .ints = {0, "1,0,4,2", "0,1,2,3", "0"}, .domain = "jatp"},
    {AL, "cw", {"4,5", "4", "4", "1"}, .wrt = 1, .ints = {0, "1,0,4,2", "0,1,2,3", "1"}, .domain = "jatp"},
    {AL, "dlr", {"4,5", "4", "4", "1"}, .wrt = 1, .ints = {0, "1,0,4,2", "0,1,2,3", "2"}, .domain = "jatp"},
    {AL, "dlr-t", {"4,5", "4", "4", "1"}, .wrt = 1, .ints = {0, "1,0,4,2", "0,1,2,3", "3"}, .domain = "jatp"},
    {AL, "tdiff", {"4,5", "4", "4", "1"}, .wrt = 1, .ints = {0, "1,0,4,2", "0,1,2,3", "4"}, .domain = "jatp"},
    {AL, "dlr K=10", {"3,10", "3", "3", "1"}, .wrt = 1, .ints = {0, "9,0,4", "1,2,3", "2"}, .domain = "jatp"},
    {"StraightThrough", "bpda", {"2,3", "2,3"}, .wrt = 2, .domain = "jatp",
     .skip = "BPDA's backward is the identity by design, not the derivative (tests/attacks checks the wiring)"},
};
const int gc_n_cases_attack = (int)(sizeof gc_cases_attack / sizeof gc_cases_attack[0]);
