/* Gradient-check cases for the loss family (see gradcheck.h for the row format). Labels are int64
 * constants; weights are constants drawn from [0.5, 2]; only the scores/input are differentiated. */
#include "gradcheck.h"

#define SCE "SoftmaxCrossEntropyLoss"
#define NLL "NegativeLogLikelihoodLoss"

const gc_case gc_cases_loss[] = {
    {SCE, "NC mean", {"4,5", "4"}, .wrt = 1, .ints = {0, "1,0,4,2"}},
    {SCE, "NC none", {"4,5", "4"}, .attrs = "reduction=s:none", .wrt = 1, .ints = {0, "1,0,4,2"}},
    {SCE, "NC sum", {"4,5", "4"}, .attrs = "reduction=s:sum", .wrt = 1, .ints = {0, "3,3,0,1"}},
    {SCE, "NC mean weights", {"4,5", "4", "5"}, .wrt = 1, .ints = {0, "1,0,4,2"}, .ranges = "2:0.5:2"},
    {SCE, "NC mean weights ii", {"4,5", "4", "5"}, .attrs = "ignore_index=2", .wrt = 1, .ints = {0, "1,2,4,2"},
     .ranges = "2:0.5:2"},
    {SCE, "NC none negative ii", {"4,5", "4"}, .attrs = "reduction=s:none ignore_index=-1", .wrt = 1,
     .ints = {0, "-1,0,3,-1"}},
    {SCE, "NCd mean weights", {"2,3,4", "2,4", "3"}, .wrt = 1, .ints = {0, "0,1,2,1,2,0,0,1"}, .ranges = "2:0.5:2"},
    {SCE, "NCd1d2 sum ii", {"2,3,2,2", "2,2,2"}, .attrs = "reduction=s:sum ignore_index=1", .wrt = 1,
     .ints = {0, "0,1,2,1,2,0,0,2"}},
    {SCE, "NC mean + log_prob", {"3,4", "3"}, .wrt = 1, .ints = {0, "0,3,1"}, .n_out = 2},
    {SCE, "NCd none weights + log_prob", {"2,3,3", "2,3", "3"}, .attrs = "reduction=s:none", .wrt = 1,
     .ints = {0, "0,1,2,2,1,0"}, .ranges = "2:0.5:2", .n_out = 2},
    {SCE, "NC mean opset 12", {"4,5", "4"}, .wrt = 1, .ints = {0, "1,0,4,2"}, .opset = 12},
    {NLL, "NC mean", {"4,5", "4"}, .wrt = 1, .ints = {0, "1,0,4,2"}},
    {NLL, "NC none", {"4,5", "4"}, .attrs = "reduction=s:none", .wrt = 1, .ints = {0, "1,0,4,2"}},
    {NLL, "NC sum weights ii", {"4,5", "4", "5"}, .attrs = "reduction=s:sum ignore_index=4", .wrt = 1,
     .ints = {0, "1,0,4,2"}, .ranges = "2:0.5:2"},
    {NLL, "NCd mean weights ii", {"2,3,4", "2,4", "3"}, .attrs = "ignore_index=0", .wrt = 1,
     .ints = {0, "0,1,2,1,2,0,0,1"}, .ranges = "2:0.5:2"},
    {NLL, "NCd1d2 none", {"2,3,2,2", "2,2,2"}, .attrs = "reduction=s:none", .wrt = 1, .ints = {0, "0,1,2,1,2,0,0,2"}},
};
const int gc_n_cases_loss = (int)(sizeof gc_cases_loss / sizeof gc_cases_loss[0]);
