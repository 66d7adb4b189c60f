/* A small Windows console program for the Wine tests: its renamed copies stand in for ToDesk.exe,
   SunloginClient.exe, AnyDesk.exe, frpc.exe. Usage: sleeper.exe SECONDS [TCP_PORT_TO_LISTEN_ON]
   Prints "ready" once it is listening (or at once without a port), then sleeps. */
#include <winsock2.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    DWORD seconds = argc > 1 ? (DWORD)atoi(argv[1]) : 600;
    if (argc > 2) {
        WSADATA wsa;
        struct sockaddr_in addr;
        SOCKET s;
        if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
            return 2;
        s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        if (s == INVALID_SOCKET)
            return 3;
        memset(&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons((unsigned short)atoi(argv[2]));
        if (bind(s, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(s, 4) != 0)
            return 4;
    }
    printf("ready\n");
    fflush(stdout);
    Sleep(seconds * 1000);
    return 0;
}
