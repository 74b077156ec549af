/**
 * The x86 CPU (a P6-class, 32-bit IA-32 processor) behind {@link org.jqemu.target.i386.X86Cpu}.
 *
 * <h2>Design</h2>
 * <ul>
 * <li><b>Register file</b>: {@code long[16]} general registers (x86_64-ready; 32-bit writes zero the upper
 *     half), EIP, EFLAGS, six segment registers plus LDTR and TR, each with a descriptor cache (base, byte
 *     limit, attributes) and a precomputed window of valid offsets and access rights so that a data access
 *     is one range check.</li>
 * <li><b>Decoder</b>: prefix scan (66/67/segment/LOCK/REP), one-byte and 0F maps, ModR/M and SIB into
 *     per-instruction fields. Written as an x86_64 decoder would be (prefixes first, then maps), only 16- and
 *     32-bit code is implemented. Undefined encodings raise #UD, LOCK on anything but a memory
 *     read-modify-write raises #UD.</li>
 * <li><b>Lazy flags</b>: flag-setting instructions record (operation, size, operands, result); CF/PF/AF/ZF/SF/OF
 *     are computed only when read (Jcc, PUSHF, ...). INC/DEC keep CF, zero-count shifts leave flags alone,
 *     rotates touch only CF/OF. Flags the SDM leaves undefined follow what Intel CPUs do where known (checked
 *     against the host CPU).</li>
 * <li><b>Memory</b>: a software TLB (read, write and fetch arrays; supervisor and CPL-3 sets) maps linear
 *     pages to 4 KiB host RAM slices accessed with little-endian unaligned {@code ValueLayout}s. Misses walk
 *     the page tables (4 KiB and PSE 4 MiB pages, A/D bits, WP, U/S) or, in Linux user mode, check
 *     {@code Page.prot}. MMIO pages are never cached. Unmapped physical memory reads all ones. Accesses that
 *     cross a page are split, and a write checks both pages before writing. LOCKed read-modify-writes on RAM
 *     are compare-and-set loops on the aligned 8-byte word, so CPUs on several threads may share memory.</li>
 * <li><b>Faults</b>: {@code CpuFault}, an unchecked exception without stack trace, thrown anywhere and caught
 *     once per instruction by the run loop, which restores EIP/ESP (and, after a partly done far transfer or
 *     event delivery, CS/SS/CPL from a checkpoint) and delivers it through the IVT or IDT (double fault,
 *     shutdown), or, in user mode, returns it to the front end.</li>
 * <li><b>System</b>: GDT/LDT/IDT, privilege checks, call/interrupt/trap/task gates, stack switches through
 *     the TSS, IRET to outer rings and v86 mode, 32-bit hardware task switches, I/O permission bitmap,
 *     control and debug registers (breakpoints are not implemented), MSRs (TSC, SYSENTER, APIC base),
 *     CPUID, SYSENTER/SYSEXIT, INTR (an {@link org.jqemu.target.i386.InterruptSource}) and NMI.</li>
 * <li><b>x87</b>: escapes D8-DF, WAIT and FXSAVE/FXRSTOR go to the fpu module's {@code X87} with the
 *     effective address; its memory accesses come back through the CPU's segmentation and paging.</li>
 * </ul>
 */
package org.jqemu.target.i386;
