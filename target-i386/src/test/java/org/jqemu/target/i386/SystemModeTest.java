package org.jqemu.target.i386;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/**
 * System architecture with small nasm programs started in real mode like firmware: protected mode entry,
 * segment bases, paging, exceptions through the IDT with privilege changes, task gates, the I/O bitmap,
 * call gates, v86 mode, external interrupts and shutdown. Expected values are what the SDM specifies.
 */
class SystemModeTest {
    /** Where handlers record things; tests read it back. */
    private static final int LOG = 0x500;
    private static final int UNEXPECTED = 0xdead;

    private static final String PRELUDE = """
            bits 16
            org 0x1000
            idt equ 0x20000
            tss equ 0x21000
            dftss equ 0x22000
            log equ 0x500
            """ + Nasm.PROTECTED_MODE_ENTRY + """
              ; every vector: the unexpected handler
              mov ecx, 0
            .fill:
              mov eax, unexpected
              mov word [idt + ecx*8], ax
              mov word [idt + ecx*8 + 2], 0x08
              mov word [idt + ecx*8 + 4], 0x8e00
              shr eax, 16
              mov word [idt + ecx*8 + 6], ax
              inc ecx
              cmp ecx, 256
              jne .fill
              ; the TSS: ring-0 stack, no I/O bitmap (base beyond the limit)
              mov dword [tss + 4], 0x8000
              mov dword [tss + 8], 0x10
              mov word [tss + 0x66], 0x68
              mov ax, 0x28
              ltr ax
              jmp main
            unexpected:
              push ss
              pop ds
              mov dword [log], 0xdead
              hlt
            %macro SETGATE 3
              mov eax, %2
              mov word [idt + %1*8], ax
              mov word [idt + %1*8 + 2], 0x08
              mov byte [idt + %1*8 + 4], 0
              mov byte [idt + %1*8 + 5], %3
              shr eax, 16
              mov word [idt + %1*8 + 6], ax
            %endmacro
            """;

    private static final String EPILOGUE = """
            align 8
            gdt:
              dq 0
              dq 0x00cf9a000000ffff      ; 0x08 ring-0 code
              dq 0x00cf92000000ffff      ; 0x10 ring-0 data
              dq 0x00cffa000000ffff      ; 0x18 ring-3 code
              dq 0x00cff2000000ffff      ; 0x20 ring-3 data
              dw 0x2067, 0x1000, 0x8902, 0x0000   ; 0x28 TSS at 0x21000, limit 0x2067 (I/O bitmap room)
              dq 0x000092010000ffff      ; 0x30 data, base 0x10000, limit 0xffff
              dq 0                       ; 0x38 call gate (filled by tests)
              dw 0x0067, 0x2000, 0x8902, 0x0000   ; 0x40 TSS at 0x22000 (double-fault task)
              dq 0x0040920000000fff      ; 0x48 ring-0 data, limit 0xfff (a too-small stack)
              dw 0x002b, 0x3000, 0x8102, 0x0000   ; 0x50 16-bit TSS at 0x23000
            gdt_end:
            gdtr: dw gdt_end - gdt - 1
                  dd gdt
            idtr: dw 0x7ff
                  dd idt
            """;

    private record Machine(X86Cpu cpu, TestRam ram, int exit, List<int[]> ports) { }

    private static Machine run(String main) { return run(main, null); }

    private static Machine run(String main, InterruptSource source) {
        byte[] code = Nasm.assemble(PRELUDE + main + EPILOGUE);
        TestRam ram = new TestRam(8 << 20, Page.RWX);
        ram.load(0x1000, code);
        List<int[]> ports = new ArrayList<>();
        IoPorts io = new IoPorts() {
            @Override public int in(int port, int size) { return 0x5a; }
            @Override public void out(int port, int size, int value) { ports.add(new int[] {port, size, value}); }
        };
        X86Cpu cpu = new X86Cpu(ram, io);
        cpu.loadSegmentRegister(X86Cpu.CS, 0);
        cpu.setEip(0x1000);
        if (source != null) {
            cpu.setInterruptSource(source);
        }
        int exit;
        if (System.getenv("TRACE_SYSTEM") != null) { // debugging aid: one line per instruction
            exit = X86Cpu.EXIT_BUDGET;
            for (int n = 0; n < 100_000 && exit == X86Cpu.EXIT_BUDGET; n++) {
                long before = cpu.eip();
                int sel = cpu.segmentSelector(X86Cpu.CS);
                exit = cpu.run(1);
                System.out.printf("%04x:%08x -> %04x:%08x cpl %d esp %08x exit %d first %d%n", sel, before,
                        cpu.segmentSelector(X86Cpu.CS), cpu.eip(), cpu.cpl(), cpu.reg(X86Cpu.ESP), exit, cpu.firstEventVector);
            }
        } else {
            exit = cpu.run(1_000_000);
        }
        return new Machine(cpu, ram, exit, ports);
    }

    private static void assertHaltedCleanly(Machine m) {
        assertEquals(X86Cpu.EXIT_HALT, m.exit(), "exit " + m.exit() + " " + m.cpu().internalError());
        assertTrue(m.ram().u32(LOG) != UNEXPECTED, "an unexpected exception reached the default handler at eip "
                + Long.toHexString(m.cpu().eip()));
    }

    @Test
    void protectedModeEntryAndSegmentBase() {
        Machine m = run("""
                main:
                  mov ax, 0x30
                  mov ds, ax
                  mov dword [0x10], 0x11223344   ; base 0x10000
                  mov ax, 0x10
                  mov ds, ax
                  mov eax, [0x10010]
                  mov [log], eax
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0x11223344, m.ram().u32(0x10010));
        assertEquals(0x11223344, m.ram().u32(LOG));
        assertEquals(0x08, m.cpu().segmentSelector(X86Cpu.CS));
        assertEquals(1, m.cpu().cr(0) & 1);
    }

    @Test
    void segmentLimitViolationIsGeneralProtection() {
        Machine m = run("""
                main:
                  SETGATE 13, gp, 0x8e
                  mov ax, 0x30
                  mov es, ax
                  mov eax, [es:0xfffe]       ; a dword at 0xfffe crosses the 0xffff limit
                  hlt
                gp:
                  pop dword [log]            ; error code
                  pop dword [log + 4]        ; faulting EIP
                  mov dword [log + 8], 1
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0, m.ram().u32(LOG));
        assertEquals(1, m.ram().u32(LOG + 8));
        assertTrue(m.ram().u32(LOG + 4) > 0x1000);
    }

    /** CR4 |= {@code cr4Bits}, CR3 = the page directory at 0x30000 (see {@link #PAGING_SETUP}), then CR0.PG on. */
    private static String pagingOn(String cr4Bits) {
        return """
                  mov eax, cr4
                  or eax, %s
                  mov cr4, eax
                  mov eax, 0x30000
                  mov cr3, eax
                  mov eax, cr0
                  or eax, 0x80000000
                  mov cr0, eax
                """.formatted(cr4Bits);
    }

    private static final String PAGING_SETUP = """
              ; page directory at 0x30000, one page table at 0x31000 identity-mapping 0-4 MiB
              mov edi, 0x30000
              mov ecx, 1024
              xor eax, eax
              rep stosd
              mov edi, 0x31000
              mov eax, 0x007              ; present, writable, user
              mov ecx, 1024
            .pt:
              stosd
              add eax, 0x1000
              loop .pt
              mov dword [0x30000], 0x31007
            """;

    @Test
    void pagingTranslatesAndSetsAccessedAndDirtyBits() {
        Machine m = run("main:\n" + PAGING_SETUP + """
                  mov dword [0x30004], 0x200087  ; PDE 1: a 4 MiB page (PS) at physical 2 MiB... aligned below
                  mov dword [0x30004], 0x000087  ; 4 MiB page: linear 4-8 MiB -> physical 0-4 MiB
                  mov dword [0x31000 + 0x50*4], 0x60007   ; linear 0x50000 -> physical 0x60000
                """ + pagingOn("0x10") /* PSE */ + """
                  mov dword [0x50010], 0xabcd1234
                  mov eax, [0x400000 + 0x60010]   ; through the 4 MiB page: physical 0x60010
                  mov [log], eax
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0xabcd1234, m.ram().u32(0x60010));
        assertEquals(0xabcd1234, m.ram().u32(LOG));
        assertEquals(0, m.ram().u32(0x50010), "the linear page 0x50000 is not the physical one");
        int pte = m.ram().u32(0x31000 + 0x50 * 4);
        assertEquals(0x60, pte & 0x60, "accessed and dirty");
        int bigPde = m.ram().u32(0x30004);
        assertEquals(0x20, bigPde & 0x60, "4 MiB page read only: accessed, not dirty");
    }

    /**
     * Paging on, CR4.PGE set: linear 0x50000 maps physical 0x60000 through a global PTE (G, bit 8), 0x51000 maps
     * 0x61000 through a non-global one; both read once (their translations cached), then both PTEs are pointed at
     * 0x62000 without INVLPG.
     */
    private static final String GLOBAL_AND_LOCAL_PAGES = PAGING_SETUP + """
              mov dword [0x60000], 0x600
              mov dword [0x61000], 0x610
              mov dword [0x62000], 0x620
              mov dword [0x31000 + 0x50*4], 0x60107   ; global
              mov dword [0x31000 + 0x51*4], 0x61007   ; not global
              """ + pagingOn("0x80") /* PGE */ + """
              mov eax, [0x50000]
              mov [log], eax
              mov eax, [0x51000]
              mov [log + 4], eax
              mov dword [0x31000 + 0x50*4], 0x62107
              mov dword [0x31000 + 0x51*4], 0x62007
            """;

    /**
     * MOV to CR3 drops non-global TLB entries and keeps global ones (SDM 4.10.4.1: keeping them is what lets the
     * kernel's pages, global in Linux, survive every address-space switch without a walk); toggling CR4.PGE and
     * INVLPG drop global ones too (4.10.4.1). The stale global reads are this TLB's behaviour, which the SDM
     * allows: software must INVLPG after changing a global PTE.
     */
    @Test
    void cr3LoadKeepsGlobalTranslationsOnly() {
        Machine m = run("main:\n" + GLOBAL_AND_LOCAL_PAGES + """
                  mov eax, 0x30000
                  mov cr3, eax
                  mov eax, [0x50000]
                  mov [log + 8], eax          ; the global entry: still physical 0x60000
                  mov eax, [0x51000]
                  mov [log + 12], eax         ; walked again: physical 0x62000
                  mov eax, cr4
                  and eax, ~0x80
                  mov cr4, eax
                  or eax, 0x80
                  mov cr4, eax                ; a PGE toggle flushes global entries too
                  mov eax, [0x50000]
                  mov [log + 16], eax
                  mov dword [0x31000 + 0x50*4], 0x60107
                  mov eax, 0x30000
                  mov cr3, eax
                  mov eax, [0x50000]
                  mov [log + 20], eax         ; kept again across CR3
                  invlpg [0x50000]
                  mov eax, [0x50000]
                  mov [log + 24], eax         ; INVLPG drops it
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0x600, m.ram().u32(LOG));
        assertEquals(0x610, m.ram().u32(LOG + 4));
        assertEquals(0x600, m.ram().u32(LOG + 8), "a global translation survives MOV CR3");
        assertEquals(0x620, m.ram().u32(LOG + 12), "a non-global one does not");
        assertEquals(0x620, m.ram().u32(LOG + 16), "after a CR4.PGE toggle the global PTE is walked again");
        assertEquals(0x620, m.ram().u32(LOG + 20));
        assertEquals(0x600, m.ram().u32(LOG + 24), "after INVLPG too");
    }

    /**
     * Code at linear 0x50000 (physical 0x60000) points its own page at physical 0x61000 and then runs {@code flush}
     * (INVLPG or a CR3 load: both serialize, so the next instruction is fetched through the new translation).
     * Both physical pages hold the same code up to that point and a different {@code mov eax} after it; the program
     * logs EAX. The interpreter keeps its fetch window across instructions (Interpreter.startFetch): the flush must
     * drop it.
     */
    private static Machine runCodeThatRemapsItsOwnPage(String flush) {
        String common = """
                  mov dword [0x31000 + 0x50*4], 0x61003   ; this page -> physical 0x61000 (not global)
                """ + flush;
        return run("main:\n" + PAGING_SETUP + """
                  mov esi, old_page
                  mov edi, 0x60000
                  mov ecx, old_page_end - old_page
                  rep movsb
                  mov esi, new_page
                  mov edi, 0x61000
                  mov ecx, new_page_end - new_page
                  rep movsb
                  mov dword [0x31000 + 0x50*4], 0x60003   ; linear 0x50000 -> physical 0x60000
                """ + pagingOn("0") + """
                  mov eax, 0x50000
                  jmp eax
                back:
                  mov [log + 4], eax
                  hlt
                old_page:
                """ + common + """
                  mov eax, 0xa                ; the old page's next instruction
                  mov ebx, back
                  jmp ebx
                old_page_end:
                new_page:
                """ + common + """
                  mov eax, 0xb                ; the new page's, at the same offset
                  mov ebx, back
                  jmp ebx
                new_page_end:
                """);
    }

    @Test
    void theInstructionAfterInvlpgOfItsOwnPageIsFetchedThroughTheNewTranslation() {
        Machine m = runCodeThatRemapsItsOwnPage("  invlpg [0x50000]\n");
        assertHaltedCleanly(m);
        assertEquals(0xb, m.ram().u32(LOG + 4), "the next instruction came from the page's old frame");
    }

    @Test
    void theInstructionAfterACr3LoadIsFetchedThroughTheNewTranslation() {
        Machine m = runCodeThatRemapsItsOwnPage("  mov ecx, 0x30000\n  mov cr3, ecx\n");
        assertHaltedCleanly(m);
        assertEquals(0xb, m.ram().u32(LOG + 4), "the next instruction came from the page's old frame");
    }

    /**
     * A far jump to a code segment with another base (0x38: base 0x10000) lands at an offset inside the page the jump
     * was fetched from: the bytes must come from the new base (the interpreter's fetch window is in CS offsets).
     */
    @Test
    void aFarJumpToAnotherCodeBaseFetchesThroughTheNewBase() {
        Machine m = run("main:\n" + """
                  mov dword [gdt + 0x38], 0x0000ffff
                  mov dword [gdt + 0x3c], 0x00cf9a01    ; 0x38: ring-0 code, base 0x10000
                  mov dword [0x10000 + target], 0x000bb8    ; mov eax, 0xb (b8 0b 00 00 00) ...
                  mov dword [0x10000 + target + 4], 0xf400  ; ... hlt
                  mov eax, 0xa
                  jmp 0x38:target
                target equ (($ - $$) & ~0xfff) + 0x1000 + 0xff0   ; an offset in this page
                """);
        assertEquals(X86Cpu.EXIT_HALT, m.exit());
        assertEquals(0xb, m.cpu().reg(X86Cpu.EAX), "the code came from the old base");
        assertEquals(0x38, m.cpu().segmentSelector(X86Cpu.CS));
    }

    /** The translator's flat table keeps the same entries across MOV CR3 as the TLB (FlatTlb.clearNonGlobal). */
    @Test
    void cr3LoadKeepsGlobalFlatEntriesOnly() {
        Machine m = run("main:\n" + GLOBAL_AND_LOCAL_PAGES + """
                  mov dword [0x31000 + 0x50*4], 0x60107
                  mov dword [0x31000 + 0x51*4], 0x61007
                  mov dword [0x31000 + 0x52*4], 0x62007   ; a page written through the flat path
                  invlpg [0x50000]
                  invlpg [0x51000]
                  hlt
                """);
        assertHaltedCleanly(m);
        X86Cpu cpu = m.cpu();
        assertEquals(0x600, cpu.flatReadMiss(0x50000, 4));
        assertEquals(0x610, cpu.flatReadMiss(0x51000, 4));
        cpu.flatWriteMiss(0x52004, 4, 7);
        long global = cpu.flatEntry(0x50000, false);
        assertNotEquals(0, global);
        assertNotEquals(0, cpu.flatEntry(0x51000, false));
        assertNotEquals(0, cpu.flatEntry(0x52000, true));
        cpu.writeControl(3, 0x30000);
        assertEquals(global, cpu.flatEntry(0x50000, false), "the global page's entry stays");
        assertEquals(0, cpu.flatEntry(0x51000, false), "the others are dropped");
        assertEquals(0, cpu.flatEntry(0x52000, true));
        cpu.writeControl(3, 0x30000);
        assertEquals(global, cpu.flatEntry(0x50000, false), "and stays across the next one");
        cpu.flushTlb();
        assertEquals(0, cpu.flatEntry(0x50000, false), "a full flush drops it");
    }

    @Test
    void pageFaultReportsErrorCodeAndCr2() {
        Machine m = run("main:\n" + PAGING_SETUP + """
                  SETGATE 14, pf, 0x8e
                  mov dword [0x31000 + 0x70*4], 0    ; linear 0x70000 not present
                  mov dword [0x31000 + 0x71*4], 0x71005   ; 0x71000 present, read-only, user
                  mov eax, 0x30000
                  mov cr3, eax
                  mov eax, cr0
                  or eax, 0x80010000              ; PG and WP
                  mov cr0, eax
                  mov eax, [0x70004]
                  mov dword [0x71008], 5          ; supervisor write to read-only with WP: fault
                  hlt
                pf:
                  mov ebx, [log + 32]
                  pop dword [log + ebx*8]         ; error code
                  mov eax, cr2
                  mov [log + ebx*8 + 4], eax
                  inc dword [log + 32]
                  ; make the faulting page present and writable, then retry the instruction
                  mov eax, cr2
                  and eax, 0xfffff000
                  mov ecx, eax
                  shr ecx, 12
                  or eax, 7
                  mov [0x31000 + ecx*4], eax
                  mov eax, cr2
                  invlpg [eax]
                  iretd
                """);
        assertHaltedCleanly(m);
        assertEquals(2, m.ram().u32(LOG + 32));
        assertEquals(0, m.ram().u32(LOG), "read, supervisor, not present");
        assertEquals(0x70004, m.ram().u32(LOG + 4));
        assertEquals(3, m.ram().u32(LOG + 8), "write, supervisor, protection");
        assertEquals(0x71008, m.ram().u32(LOG + 12));
        assertEquals(5, m.ram().u32(0x71008), "the write was retried after the handler fixed the PTE");
    }

    private static final String TO_RING3 = """
              push dword 0x23        ; SS
              push dword 0x7000      ; ESP
              push dword 0x202       ; EFLAGS: IF, IOPL 0
              push dword 0x1b        ; CS
              push dword ring3
              iretd
            """;

    @Test
    void interruptFromRing3SwitchesToTheTssStack() {
        Machine m = run("""
                main:
                  SETGATE 0x80, syscall, 0xef     ; trap gate, DPL 3
                """ + TO_RING3 + """
                ring3:
                  mov eax, 42
                  int 0x80
                  mov [log + 40], eax             ; not reached at ring 3 (would #PF? no: flat) -- after return
                  jmp $
                syscall:
                  push ss                         ; DS was nulled on the way to ring 3
                  pop ds
                  mov [log], esp
                  mov eax, [esp]                  ; EIP
                  mov [log + 4], eax
                  mov eax, [esp + 4]              ; CS
                  mov [log + 8], eax
                  mov eax, [esp + 8]              ; EFLAGS
                  mov [log + 12], eax
                  mov eax, [esp + 12]             ; ESP
                  mov [log + 16], eax
                  mov eax, [esp + 16]             ; SS
                  mov [log + 20], eax
                  mov ax, cs
                  mov [log + 24], eax
                  pushfd
                  pop eax
                  mov [log + 28], eax
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0x8000 - 20, m.ram().u32(LOG), "ESP0 from the TSS minus SS, ESP, EFLAGS, CS, EIP");
        assertEquals(0x1b, m.ram().u32(LOG + 8));
        assertEquals(0x202, m.ram().u32(LOG + 12) & 0x3ff);
        assertEquals(0x7000, m.ram().u32(LOG + 16));
        assertEquals(0x23, m.ram().u32(LOG + 20));
        assertEquals(0x08, m.ram().u32(LOG + 24) & 0xffff);
        assertEquals(0x200, m.ram().u32(LOG + 28) & 0x200, "a trap gate leaves IF set");
        assertEquals(0, m.cpu().cpl());
    }

    @Test
    void ring3PrivilegedInstructionAndGateDplAreGeneralProtection() {
        Machine m = run("""
                main:
                  SETGATE 13, gp, 0x8e
                  SETGATE 0x81, unexpected, 0x8e   ; DPL 0: INT 0x81 from ring 3 is #GP(0x81*8+2)
                """ + TO_RING3 + """
                ring3:
                  cli
                  int 0x81
                  jmp $
                gp:
                  push ss
                  pop ds
                  mov ebx, [log + 32]
                  pop dword [log + ebx*4]
                  inc dword [log + 32]
                  add dword [esp], 1              ; CLI is one byte; INT 0x81 two: fixed below
                  cmp ebx, 1
                  jne .back
                  hlt
                .back:
                  iretd
                """);
        assertHaltedCleanly(m);
        assertEquals(0, m.ram().u32(LOG), "CLI at CPL 3 > IOPL: #GP(0)");
        assertEquals(0x81 * 8 + 2, m.ram().u32(LOG + 4), "software interrupt through a DPL-0 gate");
    }

    @Test
    void ioPermissionBitmapAllowsAndDeniesPorts() {
        Machine m = run("""
                main:
                  SETGATE 13, gp, 0x8e
                  ; bitmap at TSS+0x68: all ports denied but 0x80
                  mov edi, tss + 0x68
                  mov ecx, 0x2000 / 4
                  mov eax, -1
                  rep stosd
                  and byte [tss + 0x68 + 0x10], 0xfe
                """ + TO_RING3 + """
                ring3:
                  mov al, 0x11
                  out 0x80, al
                  out 0x81, al
                  jmp $
                gp:
                  push ss
                  pop ds
                  pop dword [log]
                  pop dword [log + 4]
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(1, m.ports().size());
        assertEquals(0x80, m.ports().get(0)[0]);
        assertEquals(0x11, m.ports().get(0)[2]);
        assertEquals(0, m.ram().u32(LOG));
    }

    @Test
    void callGateToRing0CopiesParametersAndReturns() {
        Machine m = run("""
                main:
                  SETGATE 0x80, done, 0xee
                  ; call gate at 0x38: target 0x08:gate_target, DPL 3, 32-bit, 2 parameters
                  mov eax, gate_target
                  mov word [gdt + 0x38], ax
                  mov word [gdt + 0x3a], 0x08
                  mov byte [gdt + 0x3c], 2
                  mov byte [gdt + 0x3d], 0xec
                  shr eax, 16
                  mov word [gdt + 0x3e], ax
                """ + TO_RING3 + """
                ring3:
                  push dword 0x23
                  pop ds
                  push dword 0x1111
                  push dword 0x2222
                  call 0x3b:0
                  mov [log + 16], esp
                  mov ax, cs
                  mov [log + 20], ax
                  mov [log + 24], ebx
                  int 0x80
                done:
                  hlt
                gate_target:
                  push ss
                  pop ds
                  mov eax, [esp + 8]    ; params: after EIP, CS
                  mov [log], eax
                  mov eax, [esp + 12]
                  mov [log + 4], eax
                  mov eax, [esp + 20]   ; old SS
                  mov [log + 8], eax
                  mov ax, cs
                  mov [log + 12], ax
                  mov ebx, 77
                  push dword 0x23                 ; a ring-3 DS survives the return to ring 3
                  pop ds
                  retf 8
                """);
        assertHaltedCleanly(m);
        assertEquals(0x2222, m.ram().u32(LOG), "first parameter (last pushed)");
        assertEquals(0x1111, m.ram().u32(LOG + 4));
        assertEquals(0x23, m.ram().u32(LOG + 8));
        assertEquals(0x08, m.ram().u32(LOG + 12) & 0xffff);
        assertEquals(0x7000, m.ram().u32(LOG + 16), "RETF 8 released the parameters on the outer stack");
        assertEquals(0x1b, m.ram().u32(LOG + 20) & 0xffff);
        assertEquals(77, m.ram().u32(LOG + 24));
    }

    @Test
    void taskWithTheTrapFlagRaisesDebugTrapAndLocalBreakpointsAreDropped() {
        Machine m = run("""
                main:
                  mov dword [dftss + 0x20], task2     ; EIP
                  mov dword [dftss + 0x24], 0x2       ; EFLAGS
                  mov dword [dftss + 0x38], 0x6000    ; ESP
                  mov word [dftss + 0x4c], 0x08       ; CS
                  mov word [dftss + 0x50], 0x10       ; SS
                  mov word [dftss + 0x54], 0x10       ; DS
                  mov word [dftss + 0x48], 0x10       ; ES
                  mov word [dftss + 0x64], 1          ; T: #DB on entering the task
                  mov eax, 0x40f                      ; L0 G0 L1 G1 (execution breakpoints at 0, never reached)
                  mov dr7, eax
                  SETGATE 1, db_handler, 0x8e
                  jmp 0x40:0
                db_handler:
                  mov eax, dr6
                  mov [log], eax
                  mov eax, [esp]
                  mov [log + 4], eax
                  mov eax, dr7
                  mov [log + 8], eax
                  str ax
                  mov [log + 12], ax
                  mov dword [log + 16], task2
                  hlt
                task2:
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0xffff8ff0, m.ram().u32(LOG), "DR6.BT (SDM Vol. 3B 18.2.3)");
        assertEquals(m.ram().u32(LOG + 16), m.ram().u32(LOG + 4), "a trap before the new task's first instruction");
        assertEquals(0x40a, m.ram().u32(LOG + 8), "L0 and L1 cleared by the task switch, G0 and G1 kept");
        assertEquals(0x40, m.ram().u32(LOG + 12) & 0xffff);
    }

    @Test
    void doubleFaultThroughTaskGate() {
        Machine m = run("""
                main:
                  ; #DF through a task gate to the TSS at 0x40
                  mov word [idt + 8*8 + 2], 0x40
                  mov word [idt + 8*8 + 4], 0x8500
                  mov dword [dftss + 0x20], df_task   ; EIP
                  mov dword [dftss + 0x24], 0x2       ; EFLAGS
                  mov dword [dftss + 0x38], 0x6000    ; ESP
                  mov word [dftss + 0x4c], 0x08       ; CS
                  mov word [dftss + 0x50], 0x10       ; SS
                  mov word [dftss + 0x54], 0x10       ; DS
                  mov word [dftss + 0x48], 0x10       ; ES
                  ; #GP handler not present: #GP -> #NP while delivering -> double fault
                  mov byte [idt + 13*8 + 5], 0x0e
                  mov ebx, 0x1234
                  mov ax, 0x3f                 ; bad selector: #GP
                  mov ds, ax
                  hlt
                df_task:
                  mov [log], ebx              ; registers came from the new TSS (zero)
                  pop dword [log + 4]         ; error code 0 pushed on the new task's stack
                  str ax
                  mov [log + 8], ax
                  mov ax, [dftss]             ; back link
                  mov [log + 12], ax
                  mov eax, [tss + 0x34]       ; the old task's EBX was saved
                  mov [log + 16], eax
                  pushfd
                  pop dword [log + 20]
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0, m.ram().u32(LOG));
        assertEquals(0, m.ram().u32(LOG + 4));
        assertEquals(0x40, m.ram().u32(LOG + 8) & 0xffff);
        assertEquals(0x28, m.ram().u32(LOG + 12) & 0xffff);
        assertEquals(0x1234, m.ram().u32(LOG + 16));
        assertEquals(0x4000, m.ram().u32(LOG + 20) & 0x4000, "NT set in the nested task");
    }

    @Test
    void faultWhileSwitchingStacksLeavesTheInterruptedStateIntact() {
        Machine m = run("""
                main:
                  SETGATE 0x80, unexpected, 0xee
                  mov word [idt + 8*8 + 2], 0x40       ; #DF: task gate
                  mov word [idt + 8*8 + 4], 0x8500
                  mov dword [dftss + 0x20], df_task
                  mov dword [dftss + 0x24], 0x2
                  mov dword [dftss + 0x38], 0x6000
                  mov word [dftss + 0x4c], 0x08
                  mov word [dftss + 0x50], 0x10
                  mov word [dftss + 0x54], 0x10
                  mov word [dftss + 0x48], 0x10
                  mov dword [tss + 8], 0x48            ; ring-0 stack segment too small for ESP0 = 0x8000
                """ + TO_RING3 + """
                ring3:
                  mov ebx, 0x3333
                int_here:
                  int 0x80
                  jmp $
                df_task:
                  mov eax, [tss + 0x20]       ; saved EIP of the interrupted task
                  mov [log], eax
                  mov eax, [tss + 0x4c]       ; saved CS
                  mov [log + 4], eax
                  mov eax, [tss + 0x38]       ; saved ESP
                  mov [log + 8], eax
                  mov eax, [tss + 0x50]       ; saved SS
                  mov [log + 12], eax
                  mov eax, [tss + 0x34]       ; saved EBX
                  mov [log + 16], eax
                  mov dword [log + 20], int_here
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(m.ram().u32(LOG + 20), m.ram().u32(LOG), "EIP of the INT instruction");
        assertEquals(0x1b, m.ram().u32(LOG + 4) & 0xffff);
        assertEquals(0x7000, m.ram().u32(LOG + 8));
        assertEquals(0x23, m.ram().u32(LOG + 12) & 0xffff);
        assertEquals(0x3333, m.ram().u32(LOG + 16));
    }

    @Test
    void descriptorInspectionInstructions() {
        Machine m = run("""
                main:
                  mov ax, 0x08
                  lar ebx, ax
                  mov [log], ebx
                  setz [log + 4]
                  mov ax, 0x30
                  lsl ecx, ax
                  mov [log + 8], ecx
                  xor ax, ax
                  mov ecx, 0x77
                  lsl ecx, ax                ; null selector: ZF = 0, destination unchanged
                  setz [log + 12]
                  mov [log + 16], ecx
                  mov ax, 0x08
                  verr ax
                  setz [log + 20]
                  verw ax                    ; code is never writable
                  setz [log + 21]
                  mov ax, 0x10
                  verw ax
                  setz [log + 22]
                  sgdt [log + 24]
                  str ax
                  mov [log + 32], ax
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0x00c09b00, m.ram().u32(LOG), "LAR: attributes of a 4 GiB 32-bit code segment (accessed)");
        assertEquals(1, m.ram().byteAt(LOG + 4));
        assertEquals(0xffff, m.ram().u32(LOG + 8));
        assertEquals(0, m.ram().byteAt(LOG + 12));
        assertEquals(0x77, m.ram().u32(LOG + 16));
        assertEquals(1, m.ram().byteAt(LOG + 20));
        assertEquals(0, m.ram().byteAt(LOG + 21));
        assertEquals(1, m.ram().byteAt(LOG + 22));
        assertEquals(11 * 8 - 1, m.ram().u32(LOG + 24) & 0xffff, "GDT limit: 11 descriptors");
        assertEquals(0x28, m.ram().u32(LOG + 32) & 0xffff);
    }

    @Test
    void jumpToA16BitTss() {
        Machine m = run("""
                main:
                  mov word [0x2300e], task16     ; IP
                  mov word [0x23010], 0x0002     ; FLAGS
                  mov word [0x23012], 0x1234     ; AX
                  mov word [0x2301a], 0x5000     ; SP
                  mov word [0x23022], 0x10       ; ES
                  mov word [0x23024], 0x08       ; CS
                  mov word [0x23026], 0x10       ; SS
                  mov word [0x23028], 0x10       ; DS
                  mov word [0x2302a], 0          ; LDT
                  mov eax, 0xabcd0000
                  jmp 0x50:0
                after_jump:
                  hlt
                task16:
                  mov [log], eax              ; upper half kept, low half from the TSS
                  mov [log + 4], esp
                  str bx
                  mov [log + 8], bx
                  mov eax, [tss + 0x20]       ; EIP saved in the old (32-bit) TSS
                  mov [log + 12], eax
                  mov dword [log + 16], after_jump
                  mov al, [gdt + 0x50 + 5]    ; new TSS now busy (type 3)
                  mov [log + 20], al
                  mov al, [gdt + 0x28 + 5]    ; old TSS no longer busy after a JMP (type 9)
                  mov [log + 21], al
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0xabcd1234, m.ram().u32(LOG));
        assertEquals(0x5000, m.ram().u32(LOG + 4) & 0xffff);
        assertEquals(0x50, m.ram().u32(LOG + 8) & 0xffff);
        assertEquals(m.ram().u32(LOG + 16), m.ram().u32(LOG + 12));
        assertEquals(0x83, m.ram().byteAt(LOG + 20));
        assertEquals(0x89, m.ram().byteAt(LOG + 21));
    }

    @Test
    void tripleFaultShutsDown() {
        Machine m = run("""
                main:
                  lidt [bad_idtr]
                  int3
                bad_idtr: dw 0
                          dd 0
                """);
        assertEquals(X86Cpu.EXIT_SHUTDOWN, m.exit());
    }

    @Test
    void externalInterruptWakesHltAndReturns() {
        int[] acks = new int[1];
        InterruptSource pic = new InterruptSource() {
            @Override public boolean interruptPending() { return acks[0] == 0; }
            @Override public int acknowledgeInterrupt() { acks[0]++; return 0x20; }
        };
        Machine m = run("""
                main:
                  SETGATE 0x20, timer, 0x8e
                  mov dword [log], 0
                  sti
                  hlt
                  mov eax, [log]
                  mov [log + 4], eax
                  cli
                  hlt
                timer:
                  inc dword [log]
                  pushfd
                  pop dword [log + 8]
                  iretd
                """, pic);
        assertHaltedCleanly(m);
        assertEquals(1, acks[0]);
        assertEquals(1, m.ram().u32(LOG + 4));
        assertEquals(0, m.ram().u32(LOG + 8) & 0x200, "an interrupt gate clears IF");
    }

    @Test
    void nmiIsDeliveredWithInterruptsDisabled() {
        TestRam ram = new TestRam(8 << 20, Page.RWX);
        byte[] code = Nasm.assemble(PRELUDE + """
                main:
                  SETGATE 2, nmi, 0x8e
                  cli
                  hlt
                  mov dword [log + 4], 1
                  hlt
                nmi:
                  inc dword [log]
                  iretd
                """ + EPILOGUE);
        ram.load(0x1000, code);
        X86Cpu cpu = new X86Cpu(ram, IoPorts.NONE);
        cpu.loadSegmentRegister(X86Cpu.CS, 0);
        cpu.setEip(0x1000);
        assertEquals(X86Cpu.EXIT_HALT, cpu.run(1_000_000));
        assertTrue(cpu.halted());
        assertEquals(X86Cpu.EXIT_HALT, cpu.run(1_000_000), "still halted: nothing pending");
        cpu.raiseNmi();
        assertEquals(X86Cpu.EXIT_HALT, cpu.run(1_000_000));
        assertEquals(1, ram.u32(LOG));
        assertEquals(1, ram.u32(LOG + 4), "execution resumed after the first HLT");
    }

    @Test
    void interruptShadowAfterStiDelaysOneInstruction() {
        InterruptSource pic = new InterruptSource() {
            int delivered;
            @Override public boolean interruptPending() { return delivered == 0; }
            @Override public int acknowledgeInterrupt() { delivered++; return 0x21; }
        };
        Machine m = run("""
                main:
                  SETGATE 0x21, irq, 0x8e
                  mov ecx, 0
                  sti
                  mov ecx, 1          ; runs before the interrupt (STI shadow)
                  mov ecx, 2
                  cli
                  hlt
                irq:
                  mov [log], ecx
                  iretd
                """, pic);
        assertHaltedCleanly(m);
        assertEquals(1, m.ram().u32(LOG));
    }

    @Test
    void virtual8086ModeInterruptPushesSegmentsAndReturns() {
        Machine m = run("""
                main:
                  SETGATE 0x30, v86int, 0xee      ; interrupt gate DPL 3
                  mov dword [tss + 4], 0x8000
                  push dword 0x0                  ; GS
                  push dword 0x0                  ; FS
                  push dword 0x0050               ; DS
                  push dword 0x0060               ; ES
                  push dword 0x0070               ; SS
                  push dword 0x0100               ; SP
                  push dword 0x23202              ; EFLAGS: VM, IOPL 3, IF
                  push dword 0x0000               ; CS
                  push dword v86code              ; IP (below 64 KiB)
                  iretd
                bits 16
                v86code:
                  mov ax, 0x1234
                  mov [0x10], ax                  ; DS base 0x500: linear 0x510
                  int 0x30
                  mov [0x14], ax
                  int 0x30
                bits 32
                v86int:
                  mov ax, ds
                  push ss
                  pop ds
                  mov [log + 0x2c], eax           ; DS was cleared to null
                  inc dword [log + 0x40]
                  cmp dword [log + 0x40], 2
                  je .second
                  mov eax, [esp + 8]              ; EFLAGS with VM
                  mov [log + 0x20], eax
                  mov eax, [esp + 20]             ; ES
                  mov [log + 0x24], eax
                  mov eax, [esp + 24]             ; DS
                  mov [log + 0x28], eax
                  mov eax, 0x5678
                  iretd
                .second:
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0x1234, m.ram().u32(0x510) & 0xffff);
        assertEquals(0x20000, m.ram().u32(LOG + 0x20) & 0x20000, "pushed EFLAGS has VM");
        assertEquals(0x60, m.ram().u32(LOG + 0x24));
        assertEquals(0x50, m.ram().u32(LOG + 0x28));
        assertEquals(0, m.ram().u32(LOG + 0x2c) & 0xffff);
        assertEquals(0x5678, m.ram().u32(0x514) & 0xffff, "IRET went back to v86 with AX from the handler");
    }

    @Test
    void sysenterAndSysexit() {
        Machine m = run("""
                main:
                  mov ecx, 0x174
                  xor edx, edx
                  mov eax, 0x08
                  wrmsr                     ; SYSENTER_CS: 0x08; SS = 0x10; SYSEXIT CS = 0x1b, SS = 0x23
                  mov ecx, 0x175
                  mov eax, 0x8000
                  wrmsr
                  mov ecx, 0x176
                  mov eax, kernel_entry
                  wrmsr
                  mov ecx, 0x6800            ; user ESP
                  mov edx, user_code         ; user EIP
                  sysexit
                user_code:
                  mov ax, cs
                  mov [log], eax
                  mov [log + 4], esp
                  sysenter
                kernel_entry:
                  mov ax, cs
                  mov [log + 8], eax
                  mov ax, ss
                  mov [log + 12], eax
                  mov [log + 16], esp
                  hlt
                """);
        assertHaltedCleanly(m);
        assertEquals(0x1b, m.ram().u32(LOG) & 0xffff);
        assertEquals(0x6800, m.ram().u32(LOG + 4));
        assertEquals(0x08, m.ram().u32(LOG + 8) & 0xffff);
        assertEquals(0x10, m.ram().u32(LOG + 12) & 0xffff);
        assertEquals(0x8000, m.ram().u32(LOG + 16));
    }
}
