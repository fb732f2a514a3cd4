/* avx2_only.c: a process preloaded with this library (LD_PRELOAD) sees a CPU without AVX-512
 * and without VNNI, as on the AVX2-only machines issues 18 and 19 set their targets on, so
 * benchmarks can measure the code path such a CPU takes on any x86-64 Linux machine whose
 * kernel offers CPUID faulting (/proc/cpuinfo flag "cpuid_fault").
 *
 * How: at load the library asks the kernel to fault every CPUID instruction of the process
 * (arch_prctl ARCH_SET_CPUID 0, inherited by the threads started afterwards); the SIGSEGV
 * that follows runs the real CPUID with faulting lifted for that moment, clears the AVX-512,
 * AVX-VNNI and AVX-512 BF16 bits from the answer and steps over the instruction. Every library
 * that picks its kernels by CPUID at run time (Qdrant's int8 scoring, oneDNN, OpenCV, NumPy,
 * FFmpeg) then takes its AVX2 path. What the C library chose at start-up (before this library
 * loads) is left as it was. It changes the instructions, not the machine: clock, caches and
 * memory stay this machine's.
 *
 * Built by benchmarks/cpu_info.py (cc -shared -fPIC -O2); for benchmarks run by hand only. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/* CPUID leaf 7, subleaf 0 */
#define EBX_AVX512 ((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31))
#define ECX_AVX512 ((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14))
#define EDX_AVX512 ((1u << 2) | (1u << 3) | (1u << 8) | (1u << 23))
/* CPUID leaf 7, subleaf 1: AVX-VNNI (bit 4), AVX-512 BF16 (bit 5) */
#define EAX_VNNI_BF16 ((1u << 4) | (1u << 5))

static struct sigaction previous_handler;

static void allow_cpuid(int allowed) { syscall(SYS_arch_prctl, ARCH_SET_CPUID, allowed); }

static void on_fault(int signal_number, siginfo_t *info, void *context_pointer) {
    ucontext_t *context = context_pointer;
    greg_t *registers = context->uc_mcontext.gregs;
    const unsigned char *instruction = (const unsigned char *)registers[REG_RIP];
    if (instruction[0] != 0x0f || instruction[1] != 0xa2) {
        /* not a CPUID: whatever handled it before (or the default, which ends the process) */
        sigaction(SIGSEGV, &previous_handler, NULL);
        return;
    }
    unsigned int leaf = (unsigned int)registers[REG_RAX], subleaf = (unsigned int)registers[REG_RCX];
    unsigned int eax, ebx, ecx, edx;
    allow_cpuid(1);
    __cpuid_count(leaf, subleaf, eax, ebx, ecx, edx);
    allow_cpuid(0);
    if (leaf == 7 && subleaf == 0) {
        ebx &= ~EBX_AVX512;
        ecx &= ~ECX_AVX512;
        edx &= ~EDX_AVX512;
    } else if (leaf == 7 && subleaf == 1) {
        eax &= ~EAX_VNNI_BF16;
    }
    registers[REG_RAX] = eax;
    registers[REG_RBX] = ebx;
    registers[REG_RCX] = ecx;
    registers[REG_RDX] = edx;
    registers[REG_RIP] += 2;
    (void)signal_number;
    (void)info;
}

__attribute__((constructor)) static void hide_avx512(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previous_handler);
    allow_cpuid(0);
}
