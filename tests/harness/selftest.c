/* The comparators must be able to fail: each case below feeds a pair that has to be rejected (or
 * accepted) and checks the verdict and the message. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jt_test.h"

static jt_tensor mk(jt_dtype dt, int rank, const int64_t *dims, void *data)
{
    jt_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dt;
    t.rank = rank;
    for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
    t.data = data;
    return t;
}

static void expect(const char *name, int verdict, int want, const char *why, const char *substr)
{
    if (verdict != want)
        jt_test_fail(name, "comparator said %s, expected %s (%s)", verdict ? "match" : "mismatch",
                     want ? "match" : "mismatch", why);
    else if (substr && !strstr(why, substr))
        jt_test_fail(name, "message '%s' lacks '%s'", why, substr);
    else
        jt_test_ok(name);
}

int main(void)
{
    char why[1024];
    int64_t d4[1] = {4}, d22[2] = {2, 2}, d5[1] = {5};
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4};
    double bd[4] = {1, 2, 3, 4};
    jt_tensor ta = mk(JT_F32, 1, d4, a), tb = mk(JT_F32, 1, d4, b);

    why[0] = 0;
    expect("equal f32 match", jt_test_compare(&ta, &tb, 1e-3, 1e-7, 0, why, sizeof why), 1, why, NULL);

    b[2] = 3.01f;
    expect("f32 out of tolerance", jt_test_compare(&ta, &tb, 1e-3, 1e-7, 0, why, sizeof why), 0, why,
           "worst at 2 [2]");
    expect("f32 within loose tolerance", jt_test_compare(&ta, &tb, 1e-2, 0, 0, why, sizeof why), 1, why,
           NULL);
    b[2] = 3;

    jt_tensor tbd = mk(JT_F64, 1, d4, bd);
    expect("dtype mismatch f32 vs f64", jt_test_compare(&ta, &tbd, 1e-3, 1e-7, 0, why, sizeof why), 0,
           why, "dtype mismatch");
    expect("f64 reference allowed by flag",
           jt_test_compare(&ta, &tbd, 1e-3, 1e-7, JT_CMP_REF_F64_OK, why, sizeof why), 1, why, NULL);

    jt_tensor t22 = mk(JT_F32, 2, d22, b);
    expect("shape mismatch [4] vs [2,2]", jt_test_compare(&ta, &t22, 1, 1, 0, why, sizeof why), 0, why,
           "shape mismatch");

    float n1[4] = {1, NAN, 3, 4};
    jt_tensor tn = mk(JT_F32, 1, d4, n1);
    expect("NaN vs finite", jt_test_compare(&tn, &tb, 1e9, 1e9, 0, why, sizeof why), 0, why, "NaN/Inf");
    expect("finite vs NaN", jt_test_compare(&tb, &tn, 1e9, 1e9, 0, why, sizeof why), 0, why, "NaN/Inf");
    expect("NaN vs NaN", jt_test_compare(&tn, &tn, 0, 0, 0, why, sizeof why), 1, why, NULL);
    float i1[4] = {1, INFINITY, 3, 4}, i2[4] = {1, -INFINITY, 3, 4};
    jt_tensor ti1 = mk(JT_F32, 1, d4, i1), ti2 = mk(JT_F32, 1, d4, i2);
    expect("+Inf vs -Inf", jt_test_compare(&ti1, &ti2, 1e9, 1e9, 0, why, sizeof why), 0, why, "NaN/Inf");
    expect("+Inf vs +Inf", jt_test_compare(&ti1, &ti1, 0, 0, 0, why, sizeof why), 1, why, NULL);

    int64_t ia[4] = {1, 2, 3, 4}, ib[4] = {1, 2, 3, 5};
    jt_tensor tia = mk(JT_I64, 1, d4, ia), tib = mk(JT_I64, 1, d4, ib);
    expect("int64 exact mismatch", jt_test_compare(&tia, &tib, 1, 1, 0, why, sizeof why), 0, why,
           "compared exactly");
    expect("int64 equal", jt_test_compare(&tia, &tia, 0, 0, 0, why, sizeof why), 1, why, NULL);
    unsigned char ba[4] = {1, 0, 1, 0}, bb[4] = {1, 0, 0, 0};
    jt_tensor tba = mk(JT_BOOL, 1, d4, ba), tbb = mk(JT_BOOL, 1, d4, bb);
    expect("bool mismatch", jt_test_compare(&tba, &tbb, 1, 1, 0, why, sizeof why), 0, why, "bool");

    uint16_t h[4] = {0};
    jt_tensor th = mk(JT_F16, 1, d4, h);
    expect("float16 not handled", jt_test_compare(&th, &th, 1, 1, 0, why, sizeof why), 0, why,
           "does not handle");

    float s1 = 2.0f, s2 = 2.0f;
    jt_tensor ts1 = mk(JT_F32, 0, NULL, &s1), ts2 = mk(JT_F32, 0, NULL, &s2);
    expect("rank-0 equal", jt_test_compare(&ts1, &ts2, 0, 0, 0, why, sizeof why), 1, why, NULL);
    jt_tensor t1 = mk(JT_F32, 1, d4, a);
    t1.dims[0] = 1;
    expect("rank-0 vs [1]", jt_test_compare(&ts1, &t1, 1, 1, 0, why, sizeof why), 0, why, "shape");

    float r5a[5] = {1, 2, 3, 4, 5}, r5b[5] = {1, 2, 3, 4, 5.0001f};
    jt_tensor r1 = mk(JT_F32, 1, d5, r5a), r2 = mk(JT_F32, 1, d5, r5b);
    double rel = 0;
    expect("relnorm over 1e-6", jt_test_compare_relnorm(&r1, &r2, 1e-6, 0, &rel, why, sizeof why), 0,
           why, "relative L2 error");
    expect("relnorm under 1e-4", jt_test_compare_relnorm(&r1, &r2, 1e-4, 0, &rel, why, sizeof why), 1,
           why, NULL);
    expect("relnorm rejects int", jt_test_compare_relnorm(&tia, &tia, 1, 0, NULL, why, sizeof why), 0,
           why, "float dtype");
    expect("relnorm rejects NaN", jt_test_compare_relnorm(&tn, &tn, 1, 0, NULL, why, sizeof why), 0, why,
           "non-finite");
    expect("NULL result", jt_test_compare(NULL, &tb, 1, 1, 0, why, sizeof why), 0, why, "NULL");
    return jt_test_finish();
}
