package org.jqemu.target.i386;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/** The user-mode contract linux-user relies on; expected values follow the SDM. */
class UserModeTest {
    private static final long CODE = 0x1000;

    private static X86Cpu cpuWith(TestRam ram, String asm) {
        byte[] code = Nasm.assemble("bits 32\norg 0x1000\n" + asm);
        ram.load(CODE, code);
        X86Cpu cpu = new X86Cpu(ram, IoPorts.NONE);
        cpu.enterUserMode32();
        cpu.setEip(CODE);
        cpu.setReg(X86Cpu.ESP, 0x8000);
        return cpu;
    }

    @Test
    void intNExitsWithVectorAndEipAfter() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "mov eax, 5\nadd eax, 7\nint 0x80\nnop\n");
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        assertEquals(0x80, cpu.exitVector());
        assertEquals(12, cpu.reg(X86Cpu.EAX));
        assertEquals(CODE + 5 + 3 + 2, cpu.eip());
        assertEquals(3, cpu.cpl());
    }

    /** Accesses that straddle a page boundary right after hits on the first page (warm TLB): little-endian bytes (SDM). */
    @Test
    void accessesAcrossAPageBoundaryAfterTlbHitsOnTheFirstPage() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.load(0x3ffc, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        X86Cpu cpu = cpuWith(ram, """
                mov eax, [0x3000]
                mov dword [0x3000], 0
                mov eax, [0x3ffd]
                mov bx, [0x3fff]
                mov dword [0x3ffe], 0x11223344
                mov ecx, [0x3ffc]
                mov edx, [0x4000]
                int 0x80
                """);
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        assertEquals(0x05040302, cpu.reg(X86Cpu.EAX));
        assertEquals(0x0504, cpu.reg(X86Cpu.EBX) & 0xffff);
        assertEquals(0x33440201, cpu.reg(X86Cpu.ECX));
        assertEquals(0x08071122, cpu.reg(X86Cpu.EDX));
    }

    @Test
    void sysenterExitsWithEipAfter() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "sysenter\n");
        assertEquals(X86Cpu.EXIT_SYSCALL, cpu.run(100));
        assertEquals(CODE + 2, cpu.eip());
    }

    @Test
    void readOfUnmappedPageIsPageFaultAtTheInstruction() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.unmap(0x3000);
        X86Cpu cpu = cpuWith(ram, "mov ebx, 1\nmov eax, [0x3004]\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(14, cpu.exitVector());
        assertEquals(4, cpu.exitErrorCode()); // user, read, not present
        assertEquals(0x3004, cpu.faultAddress());
        assertEquals(CODE + 5, cpu.eip());
        assertEquals(1, cpu.reg(X86Cpu.EBX));
    }

    @Test
    void writeToReadOnlyPageIsProtectionFaultAndLeavesFlags() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.protect(0x3000, Page.READ);
        X86Cpu cpu = cpuWith(ram, "stc\nadd dword [0x3000], 1\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(14, cpu.exitVector());
        assertEquals(7, cpu.exitErrorCode()); // user, write, protection
        assertEquals(CODE + 1, cpu.eip());
        assertEquals(1, cpu.eflags() & 1, "CF survives the faulting ADD");
    }

    @Test
    void privilegedInstructionIsGeneralProtection() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "hlt\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(13, cpu.exitVector());
        assertEquals(0, cpu.exitErrorCode());
        assertEquals(CODE, cpu.eip());
    }

    @Test
    void divideByZeroIsDivideError() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "xor ecx, ecx\ndiv ecx\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(0, cpu.exitVector());
        assertEquals(CODE + 2, cpu.eip());
    }

    @Test
    void int3IsTrapWithEipAfter() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "int3\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(3, cpu.exitVector());
        assertEquals(CODE + 1, cpu.eip());
    }

    @Test
    void tlsThroughGsSegment() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.setU32(0x5010, 0x12345678);
        X86Cpu cpu = cpuWith(ram, "mov eax, [gs:0x10]\nint 0x80\n");
        cpu.setSegment(X86Cpu.GS, 0x33, 0x5000, 0xfffff, 0xc0f3);
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        assertEquals(0x12345678L, cpu.reg(X86Cpu.EAX));
        assertEquals(0x5000, cpu.segmentBase(X86Cpu.GS));
    }

    @Test
    void tlsSelectorLoadedFromUserGdtEntry() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.setU32(0x6004, 0xcafe);
        X86Cpu cpu = cpuWith(ram, "mov ax, 0x33\nmov gs, ax\nmov eax, [gs:4]\nmov bx, cs\nmov cx, ss\nint 0x80\n");
        cpu.setUserGdtEntry(6, 0x6000, 0xfffff, 0x40f3);
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        assertEquals(0xcafe, cpu.reg(X86Cpu.EAX));
        assertEquals(0x33, cpu.segmentSelector(X86Cpu.GS));
        assertEquals(0x73, cpu.reg(X86Cpu.EBX) & 0xffff);
        assertEquals(0x7b, cpu.reg(X86Cpu.ECX) & 0xffff);
    }

    @Test
    void loadingAnUnsetGdtEntryIsGeneralProtection() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "mov ax, 0x3b\nmov fs, ax\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(13, cpu.exitVector());
        assertEquals(0x38, cpu.exitErrorCode());
        assertEquals(CODE + 4, cpu.eip());
    }

    @Test
    void loopWithStringOpsAndCalls() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, """
                mov edi, 0x4000
                mov ecx, 16
                mov eax, 0xabababab
                cld
                rep stosd
                mov esi, 0x4000
                mov edi, 0x5000
                mov ecx, 64
                rep movsb
                call f
                int 0x80
                f: mov edx, [0x503c]
                ret
                """);
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(10_000));
        assertEquals(0xababababL, cpu.reg(X86Cpu.EDX));
        assertEquals(0x8000, cpu.reg(X86Cpu.ESP));
        assertEquals(0xab, ram.byteAt(0x503f));
        assertEquals(0, ram.byteAt(0x5040));
    }

    @Test
    void trapFlagTrapsAfterTheInstructionFollowingPopf() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "pushfd\nor dword [esp], 0x100\npopfd\nnop\nnop\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(1, cpu.exitVector());
        assertEquals(CODE + 1 + 7 + 1 + 1, cpu.eip(), "#DB is a trap: EIP after the first NOP");
    }

    @Test
    void writeAcrossIntoReadOnlyPageFaultsWithoutPartialWrite() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.protect(0x4000, Page.READ);
        X86Cpu cpu = cpuWith(ram, "mov dword [0x3ffe], 0x11223344\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(14, cpu.exitVector());
        assertEquals(0x4000, cpu.faultAddress());
        assertEquals(7, cpu.exitErrorCode());
        assertEquals(0, ram.byteAt(0x3ffe), "nothing written to the writable first page");
        assertEquals(0, ram.byteAt(0x3fff));
    }

    /**
     * Read-modify-writes after plain writes have warmed the write TLB: on one page they update memory (and
     * flags); across into a read-only page they fault at its first byte with a write error code, before
     * anything is written or the flags change (the write check may skip the walk only for pages whose
     * write entries exist).
     */
    @Test
    void readModifyWriteWithWarmWriteEntriesChecksBothPages() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.protect(0x4000, Page.READ);
        X86Cpu cpu = cpuWith(ram, """
                mov dword [0x3000], 5
                add dword [0x3000], 0xfffffffb
                mov dword [0x3ffc], 0
                stc
                inc dword [0x3ffe]
                """);
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(0, ram.byteAt(0x3000));
        assertEquals(14, cpu.exitVector());
        assertEquals(0x4000, cpu.faultAddress());
        assertEquals(7, cpu.exitErrorCode()); // user, write, protection
        assertEquals(0, ram.byteAt(0x3ffe), "nothing written to the writable first page");
        assertEquals(0x41, cpu.eflags() & 0x41, "CF from STC and ZF from the ADD survive the faulting INC");
    }

    @Test
    void readAcrossPagesAssemblesBothHalves() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.setU32(0x3ffc, 0x44332211);
        ram.setU32(0x4000, 0x88776655);
        X86Cpu cpu = cpuWith(ram, "mov eax, [0x3ffe]\nint 0x80\n");
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        assertEquals(0x66554433L, cpu.reg(X86Cpu.EAX));
    }

    @Test
    void lockedIncrementsFromTwoThreadsAreAtomic() throws Exception {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        String loop = "mov ecx, 200000\nl: lock inc dword [0x6000]\nlock xadd [0x6010], ebx\nmov ebx, 1\ndec ecx\njnz l\nint 0x80\n";
        X86Cpu a = cpuWith(ram, loop);
        X86Cpu b = new X86Cpu(ram, IoPorts.NONE);
        b.enterUserMode32();
        b.setEip(CODE);
        b.setReg(X86Cpu.ESP, 0x9000);
        a.setReg(X86Cpu.EBX, 1);
        b.setReg(X86Cpu.EBX, 1);
        int[] exits = new int[2];
        Thread t = new Thread(() -> exits[1] = b.run(10_000_000));
        t.start();
        exits[0] = a.run(10_000_000);
        t.join();
        assertEquals(X86Cpu.EXIT_INTERRUPT, exits[0]);
        assertEquals(X86Cpu.EXIT_INTERRUPT, exits[1]);
        assertEquals(400000, ram.u32(0x6000));
        assertEquals(400000, ram.u32(0x6010));
    }

    @Test
    void enterWithNestingLevelBuildsTheDisplay() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, """
                mov ebp, 0x7000
                mov dword [0x6ffc], 0x1111
                mov dword [0x6ff8], 0x2222
                enter 16, 3
                int 0x80
                """);
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        // SDM ENTER: push EBP; copy level-1 frame pointers from the old frame; push the new frame pointer
        assertEquals(0x7ffc, cpu.reg(X86Cpu.EBP));
        assertEquals(0x7ffc - 12 - 16, cpu.reg(X86Cpu.ESP));
        assertEquals(0x7000, ram.u32(0x7ffc));
        assertEquals(0x1111, ram.u32(0x7ff8));
        assertEquals(0x2222, ram.u32(0x7ff4));
        assertEquals(0x7ffc, ram.u32(0x7ff0));
    }

    @Test
    void cpuidReportsAP6WithTheImplementedFeatures() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "xor eax, eax\ncpuid\nmov [0x6000], ebx\nmov [0x6004], edx\nmov [0x6008], ecx\n"
                + "mov eax, 1\ncpuid\nint 0x80\n");
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        StringBuilder vendor = new StringBuilder();
        for (int i = 0; i < 12; i++) {
            vendor.append((char) ram.byteAt(0x6000 + i));
        }
        assertEquals("GenuineIntel", vendor.toString());
        assertEquals(6, (cpu.reg(X86Cpu.EAX) >> 8) & 0xf, "family 6");
        long edx = cpu.reg(X86Cpu.EDX);
        for (int bit : new int[] {0, 2, 3, 4, 5, 8, 11, 13, 15, 24}) { // fpu de pse tsc msr cx8 sep pge cmov fxsr
            assertEquals(1, (edx >> bit) & 1, "feature bit " + bit);
        }
        for (int bit : new int[] {23, 25, 26}) { // mmx, sse, sse2 are not implemented
            assertEquals(0, (edx >> bit) & 1, "feature bit " + bit);
        }
    }

    @Test
    void pushOfSegmentRegisterWritesSixteenBits() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "mov dword [esp-4], 0xffffffff\npush ds\nmov eax, [esp]\nint 0x80\n");
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        // SDM PUSH: with a 32-bit operand, P6 and later processors write the selector with a 16-bit move
        assertEquals(0xffff007bL, cpu.reg(X86Cpu.EAX));
        assertEquals(0x8000 - 4, cpu.reg(X86Cpu.ESP));
    }

    @Test
    void misalignedAccessWithAcSetIsAlignmentCheck() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "mov eax, [0x6001]\npushfd\nor dword [esp], 0x40000\npopfd\nmov ebx, [0x6004]\nmov eax, [0x6001]\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(17, cpu.exitVector());
        assertEquals(0, cpu.exitErrorCode());
        assertEquals(CODE + 5 + 1 + 7 + 1 + 6, cpu.eip(), "the aligned loads passed, the misaligned one faulted");
    }

    @Test
    void instructionsLongerThanFifteenBytesAreGeneralProtection() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        // 15 bytes: 5 prefixes + C7 05 disp32 imm32 (10) is allowed; one more prefix makes 16
        X86Cpu cpu = cpuWith(ram, "db 0x3e, 0x3e, 0x3e, 0x3e, 0x3e\nmov dword [0x6000], 1\n"
                + "db 0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0x3e\nmov dword [0x6004], 2\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(13, cpu.exitVector());
        assertEquals(CODE + 15, cpu.eip());
        assertEquals(1, ram.u32(0x6000));
        assertEquals(0, ram.u32(0x6004));
    }

    /**
     * An instruction whose immediate continues on the next page (fetch TLB warm for the first page): its
     * bytes come from both pages, in order (SDM: fetches are byte-granular linear reads).
     */
    @Test
    void instructionCrossingIntoTheNextPageReadsBothPages() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "times 0x2000 - 3 - ($ - $$) nop\nmov eax, 0x11223344\nmov ebx, eax\nint 0x80\n");
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(0x3000));
        assertEquals(0x11223344, cpu.reg(X86Cpu.EAX));
        assertEquals(0x11223344, cpu.reg(X86Cpu.EBX));
    }

    /**
     * The same instruction when the next page may not be executed: #PF for the fetch of its first byte
     * there (error code: present, user, instruction fetch), nothing executed, EIP at the instruction.
     */
    @Test
    void instructionCrossingIntoANonExecutablePageFaultsBeforeExecuting() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.protect(0x3000, Page.READ | Page.WRITE);
        X86Cpu cpu = cpuWith(ram, "mov eax, 7\ntimes 0x2000 - 3 - ($ - $$) nop\nmov eax, 0x11223344\nint 0x80\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(0x3000));
        assertEquals(14, cpu.exitVector());
        assertEquals(0x15, cpu.exitErrorCode());
        assertEquals(0x3000, cpu.faultAddress());
        assertEquals(0x2ffd, cpu.eip());
        assertEquals(7, cpu.reg(X86Cpu.EAX));
    }

    @Test
    void fetchFromNonExecutablePageFaults() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.protect(0x3000, Page.READ | Page.WRITE);
        X86Cpu cpu = cpuWith(ram, "jmp 0x3000\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(14, cpu.exitVector());
        assertEquals(0x15, cpu.exitErrorCode());
        assertEquals(0x3000, cpu.eip());
    }

    /** Runs until the next #DB exit and returns EIP there (the trap's return address). */
    private static long nextSingleStep(X86Cpu cpu) {
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(1, cpu.exitVector());
        return cpu.eip();
    }

    @Test
    void singleStepTrapsAfterEveryRepIterationWithEipAtTheInstruction() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        // pushfd(1) or(7) popfd(1) mov esi(5) mov edi(5) mov ecx(5) rep movsb(2) nop
        X86Cpu cpu = cpuWith(ram, "pushfd\nor dword [esp], 0x100\npopfd\nmov esi, 0x5000\nmov edi, 0x6000\n"
                + "mov ecx, 3\nrep movsb\nnop\n");
        long rep = CODE + 1 + 7 + 1 + 5 + 5 + 5;
        assertEquals(rep - 10, nextSingleStep(cpu));
        assertEquals(rep - 5, nextSingleStep(cpu));
        assertEquals(rep, nextSingleStep(cpu));
        assertEquals(rep, nextSingleStep(cpu), "SDM Vol. 3B 18.3.1.4: a trap after each iteration");
        assertEquals(2, cpu.reg(X86Cpu.ECX));
        assertEquals(rep, nextSingleStep(cpu));
        assertEquals(1, cpu.reg(X86Cpu.ECX));
        assertEquals(rep + 2, nextSingleStep(cpu), "the last iteration traps with EIP after the instruction");
        assertEquals(0, cpu.reg(X86Cpu.ECX));
    }

    @Test
    void movSsAndPopSsHoldTheSingleStepTrapForOneInstruction() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        // pushfd(1) or(7) popfd(1) | mov eax, ss(2) | mov ss, eax(2) nop(1) | push eax(1) | pop ss(1) nop(1) | nop
        X86Cpu cpu = cpuWith(ram, "pushfd\nor dword [esp], 0x100\npopfd\nmov eax, ss\nmov ss, eax\nnop\n"
                + "push eax\npop ss\nnop\nnop\n");
        long movSs = CODE + 9 + 2;
        assertEquals(movSs, nextSingleStep(cpu));
        assertEquals(movSs + 3, nextSingleStep(cpu), "no trap between MOV SS and the NOP (SDM Vol. 3A 6.8.3)");
        assertEquals(movSs + 4, nextSingleStep(cpu));
        assertEquals(movSs + 6, nextSingleStep(cpu), "nor between POP SS and the NOP");
    }

    @Test
    void ldtSelectorsReadTheProcessLdt() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.setU32(0x5004, 0x600dcafe);
        X86Cpu cpu = cpuWith(ram, "mov eax, 0x0f\nmov fs, eax\nmov ebx, [fs:4]\nlar ecx, eax\nint 0x80\n"
                + "mov eax, 0x17\nmov gs, eax\n");
        cpu.setUserLdtEntry(1, SystemUnit.makeDescriptor(0x5000, 0xfff, 0x40f3));
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        assertEquals(0x600dcafe, cpu.reg(X86Cpu.EBX) & 0xffff_ffffL);
        assertEquals(0x0f, cpu.segmentSelector(X86Cpu.FS));
        assertEquals(0x5000, cpu.segmentBase(X86Cpu.FS));
        assertEquals(0x0040f300L, cpu.reg(X86Cpu.ECX), "LAR: the accessed bit was set by the load");
        assertEquals(2, cpu.userLdtEntries());
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100), "entry 2 is beyond the LDT's limit");
        assertEquals(13, cpu.exitVector());
        assertEquals(0x14, cpu.exitErrorCode());

        X86Cpu thread = cpuWith(ram, "mov eax, 0x17\nmov gs, eax\nint 0x80\n");
        thread.shareUserLdt(cpu);
        cpu.setUserLdtEntry(2, SystemUnit.makeDescriptor(0x6000, 0xfff, 0x40f3));
        assertEquals(X86Cpu.EXIT_INTERRUPT, thread.run(100), "a thread sees the entry its process added later");
        assertEquals(0x6000, thread.segmentBase(X86Cpu.GS));
    }
}
