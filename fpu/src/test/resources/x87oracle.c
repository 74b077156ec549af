/* Test oracle for jqemu's x87: runs one real x87 instruction per input line on the host CPU.
 * Built with gcc -static -no-pie by the tests: a 64-bit host program (the host kernel may lack
 * 32-bit support), the x87 behaves identically in 64-bit mode. Data is addressed with absolute
 * disp32 (SIB without base or index), so the non-PIE binary keeps it below 2 GiB. Input lines (hex):
 *   cw eflags opcode modrm n v1 .. vn mem
 * v1..vn are 80-bit values (4 hex digits sign/exponent then 16 hex digits significand), loaded so
 * that v1 is ST0; mem is 16 bytes (32 hex digits) addressed by memory forms of the instruction.
 * The stub: fninit; 8 x fldz; fninit; fldcw 037f; fld each value; fnclex; fldcw cw; set eflags; mov eax,12345678;
 * the instruction; save eflags and eax; fnsave (non-waiting, so a pending unmasked exception is
 * recorded rather than raised). Output: the 108-byte fnsave image, 160 bytes of mem, eflags, eax in hex,
 * or "UD" when the instruction raised SIGILL. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static uint8_t save_area[108] __attribute__((aligned(16)));
static uint8_t mem[512] __attribute__((aligned(16))); /* room for FNSAVE; 16 bytes are compared */
static uint8_t values[8][10];
static uint16_t cw_in, cw_masked = 0x037f;
static uint64_t flags_in, flags_out;
static uint32_t eax_out;
static sigjmp_buf ill_jump;

static void on_ill(int sig) { (void)sig; siglongjmp(ill_jump, 1); }

static uint8_t *emit32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); return p + 4; }
static uint8_t *emit_abs(uint8_t *p, uint8_t op, uint8_t reg, void *addr) {
    *p++ = op; *p++ = (uint8_t)((reg << 3) | 4); *p++ = 0x25; return emit32(p, (uint32_t)(uintptr_t)addr);
}

static int hexval(int c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }
static void parse_bytes(const char *s, uint8_t *out, int n) { /* big-endian hex text to little-endian bytes */
    for (int i = 0; i < n; i++) out[n - 1 - i] = (uint8_t)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
}

int main(void) {
    uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (code == MAP_FAILED) { perror("mmap"); return 1; }
    struct sigaction sa; memset(&sa, 0, sizeof sa); sa.sa_handler = on_ill; sa.sa_flags = SA_NODEFER;
    sigaction(SIGILL, &sa, NULL);
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        unsigned cw, fl, opc, modrm; int n, pos;
        if (sscanf(line, "%x %x %x %x %d%n", &cw, &fl, &opc, &modrm, &n, &pos) != 5) continue;
        char *s = line + pos;
        for (int k = 0; k < n; k++) { while (*s == ' ') s++; parse_bytes(s, values[k], 10); s += 20; }
        while (*s == ' ') s++;
        uint8_t mbytes[16]; parse_bytes(s, mbytes, 16);
        memset(mem, 0, sizeof mem);
        for (int i = 0; i < 16; i++) mem[i] = mbytes[15 - i]; /* mem text is in address order */
        cw_in = (uint16_t)cw; flags_in = (fl & 0x8d5) | 2;
        uint8_t *p = code;
        *p++ = 0xdb; *p++ = 0xe3;                       /* fninit, then +0 in every register, */
        for (int k = 0; k < 8; k++) { *p++ = 0xd9; *p++ = 0xee; } /* as a fresh unit has them */
        *p++ = 0xdb; *p++ = 0xe3;                       /* fninit */
        p = emit_abs(p, 0xd9, 5, &cw_masked);            /* fldcw */
        for (int k = n - 1; k >= 0; k--) p = emit_abs(p, 0xdb, 5, values[k]); /* fld tword */
        *p++ = 0xdb; *p++ = 0xe2;                       /* fnclex */
        p = emit_abs(p, 0xd9, 5, &cw_in);                /* fldcw */
        p = emit_abs(p, 0xff, 6, &flags_in); *p++ = 0x9d; /* push [flags]; popfd */
        *p++ = 0xb8; p = emit32(p, 0x12345678);          /* mov eax, imm */
        if (opc > 0xff) *p++ = (uint8_t)(opc >> 8); /* 0x0fae: FXSAVE/FXRSTOR; 0x66d9/0x66dd: 16-bit operand size */
        *p++ = (uint8_t)opc;
        if (modrm >= 0xc0) *p++ = (uint8_t)modrm;
        else { *p++ = (uint8_t)((modrm & 0x38) | 4); *p++ = 0x25; p = emit32(p, (uint32_t)(uintptr_t)mem); }
        *p++ = 0x9c; p = emit_abs(p, 0x8f, 0, &flags_out); /* pushfd; pop [flags_out] */
        *p++ = 0x89; *p++ = 0x04; *p++ = 0x25; p = emit32(p, (uint32_t)(uintptr_t)&eax_out); /* mov [eax_out], eax */
        p = emit_abs(p, 0xdd, 6, save_area);            /* fnsave */
        *p++ = 0xc3;
        if (sigsetjmp(ill_jump, 1)) {
            __asm__ volatile("fninit");
            puts("UD");
            continue;
        }
        ((void (*)(void))code)();
        for (int i = 0; i < 108; i++) printf("%02x", save_area[i]);
        putchar(' ');
        for (int i = 0; i < 160; i++) printf("%02x", mem[i]);
        printf(" %08x %08x\n", (unsigned)flags_out, eax_out);
    }
    return 0;
}
