/* Learning-rate milestones of the recipes, scaled to the number of epochs asked for. */
#include <math.h>

#include "jatp/trainer.h"

double jt_schedule_factor(int64_t epoch_1based, const int *milestones, const double *factors, int n, int paper_epochs,
                          int epochs) {
    double f = 1.0;
    int prev = 1;
    for (int i = 0; i < n; i++) {
        int m = milestones[i];
        if (paper_epochs > 0 && epochs != paper_epochs)
            m = (int)lround((double)milestones[i] * (double)epochs / (double)paper_epochs);
        if (m <= prev) m = prev + 1; /* keep the milestones apart and after epoch 1 */
        prev = m;
        if (m > epochs) break;       /* a milestone past the end never applies */
        if (epoch_1based >= m) f = factors[i];
    }
    return f;
}
