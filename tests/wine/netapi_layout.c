/* Offsets and sizes of the Net API structures auditor/accounts/netapi.py reads, as the Windows SDK headers
   (mingw-w64's lm.h) lay them out for x64: test_windows_wine.py compares them with the ctypes structures. */
#include <windows.h>
#include <lm.h>
#include <stdio.h>
#include <stddef.h>
#define OFF(s, f) printf(#s " " #f " %u\n", (unsigned)offsetof(s, usri##f))
#define SIZE(s) printf(#s " size %u\n", (unsigned)sizeof(s))
int main(void) {
    SIZE(USER_INFO_1); SIZE(USER_INFO_2); SIZE(USER_INFO_3); SIZE(USER_INFO_10); SIZE(USER_MODALS_INFO_0);
    OFF(USER_INFO_1, 1_flags); OFF(USER_INFO_1, 1_priv); OFF(USER_INFO_1, 1_password_age);
    OFF(USER_INFO_2, 2_full_name); OFF(USER_INFO_2, 2_last_logon); OFF(USER_INFO_2, 2_acct_expires);
    OFF(USER_INFO_2, 2_num_logons); OFF(USER_INFO_2, 2_code_page);
    OFF(USER_INFO_3, 3_name); OFF(USER_INFO_3, 3_password_age); OFF(USER_INFO_3, 3_priv); OFF(USER_INFO_3, 3_flags);
    OFF(USER_INFO_3, 3_full_name); OFF(USER_INFO_3, 3_last_logon); OFF(USER_INFO_3, 3_acct_expires);
    OFF(USER_INFO_3, 3_logon_hours); OFF(USER_INFO_3, 3_bad_pw_count); OFF(USER_INFO_3, 3_num_logons);
    OFF(USER_INFO_3, 3_user_id); OFF(USER_INFO_3, 3_profile); OFF(USER_INFO_3, 3_password_expired);
    OFF(USER_INFO_10, 10_full_name);
    printf("USER_MODALS_INFO_0 max_passwd_age %u\n", (unsigned)offsetof(USER_MODALS_INFO_0, usrmod0_max_passwd_age));
    return 0;
}
