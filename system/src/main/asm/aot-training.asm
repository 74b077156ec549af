; jqemu-system-i386's AOT training guest (org.jqemu.system.Training embeds the bytes nasm -f bin makes of this file;
; TrainingTest checks they match and that the guest prints under qemu-system-i386 what it prints under jqemu).
; A bzImage (boot protocol 2.06) loaded with -kernel and -initrd that goes through what a Linux boot makes the
; machine do: the setup header and boot parameters, real mode and the switch to protected mode, a trip back to
; real mode, the serial port (polled and interrupt-driven), fw_cfg (I/O ports and DMA), PCI configuration,
; CMOS, the PIC and PIT (periodic ticks, the speaker-gate calibration loop), the PM timer, paging (4 KiB and
; 4 MiB pages, global pages, demand faults, INVLPG, CR3 switches), exceptions fixed up through a table,
; ring 3 through IRET, INT 0x80 and SYSENTER/SYSEXIT, the x87 and FXSAVE, code the guest writes itself (512
; distinct functions, run cold, warm and patched), hot loops, and ACPI power-off. Each part prints one line
; with a checksum that depends only on the guest's instructions, never on time.
;
; Entry: under jqemu (no firmware) the protected-mode code at code32_start, flat segments, ESI = boot params;
; under QEMU (SeaBIOS and its linuxboot option ROM) the real-mode setup code below, which switches to
; protected mode itself and passes ESI = its own segment's base (where QEMU put the setup header).

KERNEL        equ 0x100000
SETUP_SECTS   equ 1
RM_CODE       equ 0x8000          ; the real-mode trip's code is copied here
RM_IVT        equ 0x9000          ; its interrupt vector table (LIDT in real mode)
PGDIR_A       equ 0x300000
PGDIR_B       equ 0x301000
PT_LOW        equ 0x302000        ; 4 page tables: 0-16 MiB in 4 KiB pages
PT_WIN_A      equ 0x306000        ; the demand-paged window in address space A
PT_WIN_B      equ 0x307000        ; and in address space B
IDT           equ 0x308000
TSS           equ 0x308800
FXAREA        equ 0x309000
ESP0_TOP      equ 0x368000        ; ring 0 stack for interrupts from ring 3
SYSENTER_TOP  equ 0x36c000
KSTACK_TOP    equ 0x380000
USTACK_TOP    equ 0x500000
BUF           equ 0x400000        ; 64 KiB of data
BUF_SIZE      equ 0x10000
SCRATCH       equ 0x410000
CRC_TABLE     equ 0x420000
SLOTS         equ 0x430000        ; generated functions, 64 bytes each
NSLOTS        equ 512
SLOT_SIZE     equ 64
FRAMES        equ 0x1000000       ; page frames for demand faults (reached through 4 MiB pages)
WINDOW        equ 0x40000000      ; linear window, page directory entry 256
WIN_PAGES     equ 192
COM1          equ 0x3f8
PM_BASE       equ 0x600
FW_CFG        equ 0x510
FW_CFG_DMA    equ 0x514

SEL_KCODE     equ 0x08
SEL_KDATA     equ 0x10
SEL_UCODE     equ 0x1b            ; 0x18 | RPL 3 (SYSEXIT: SYSENTER_CS + 16)
SEL_UDATA     equ 0x23            ; 0x20 | RPL 3 (SYSEXIT: SYSENTER_CS + 24)
SEL_CODE16    equ 0x28
SEL_DATA16    equ 0x30
SEL_TSS       equ 0x38

; ---------------------------------------------------------------------------------------------------------------
section setup start=0 vstart=0
    times 0x1f1 db 0
    db SETUP_SECTS                                  ; 0x1f1 setup_sects
    dw 0                                            ; root_flags
    dd (rmode_image - kernel_start + rm_end - rm_start + 15) / 16   ; 0x1f4 syssize
    dw 0, 0xffff, 0                                 ; ram_size, vid_mode, root_dev
    dw 0xaa55                                       ; 0x1fe boot_flag
    jmp short setup_start                           ; 0x200
    db "HdrS"                                       ; 0x202
    dw 0x0206                                       ; 0x206 version
    dd 0                                            ; realmode_swtch
    dw 0, 0                                         ; start_sys_seg, kernel_version
    db 0                                            ; 0x210 type_of_loader
    db 0x01                                         ; 0x211 loadflags: LOADED_HIGH
    dw 0                                            ; setup_move_size
    dd KERNEL                                       ; 0x214 code32_start
    dd 0, 0                                         ; ramdisk_image, ramdisk_size
    dd 0                                            ; bootsect_kludge
    dw 0                                            ; 0x224 heap_end_ptr
    db 0, 0                                         ; ext_loader_ver, ext_loader_type
    dd 0                                            ; 0x228 cmd_line_ptr
    dd 0x07ffffff                                   ; 0x22c initrd_addr_max
    dd 0x100000                                     ; 0x230 kernel_alignment
    db 0, 0                                         ; relocatable_kernel, min_alignment
    dw 0                                            ; xloadflags
    dd 255                                          ; 0x238 cmdline_size
    times 0x268 - ($ - $$) db 0                     ; the rest of a 2.10 header, unused at 2.06
setup_start:                                        ; real mode, CS = DS - 0x20 (QEMU's loader)
    cli
    mov ax, cs
    sub ax, 0x20
    mov ds, ax
    o32 lgdt [setup_gdtr]
    movzx esi, ax
    shl esi, 4                                      ; the boot parameters: this segment's base
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword SEL_KCODE:KERNEL
setup_gdtr:
    dw gdt_end - gdt - 1
    dd gdt
    times (SETUP_SECTS + 1) * 512 - ($ - $$) db 0

; ---------------------------------------------------------------------------------------------------------------
section kernel follows=setup vstart=KERNEL align=16
bits 32
kernel_start:
    cli
    lgdt [cs:gdtr]                                  ; DS may still be a real-mode segment (QEMU)
    jmp SEL_KCODE:.reload
.reload:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, KSTACK_TOP
    mov [boot_params], esi
    cld
    call setup_idt
    call serial_init
    mov esi, msg_hello
    call puts
    call part_boot_params
    call part_real_mode
    call part_serial_probe
    call part_fw_cfg
    call part_pci_cmos
    call part_paging
    call part_interrupts
    call part_code
    call part_hot_loops
    call part_exceptions
    call part_fpu
    call part_user
    call part_serial_irq
    mov esi, msg_done
    call puts
    ; ACPI power-off: PM1a control, SLP_TYP 0 (the _S5 of QEMU's and jqemu's tables) with SLP_EN
    mov dx, PM_BASE + 4
    mov ax, 0x2000
    out dx, ax
.hang:
    hlt
    jmp .hang

; ---- output ----

; AL to COM1 (polls LSR.THRE).
putc:
    push edx
    push eax
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

; The zero-terminated string at ESI.
puts:
    push eax
    push esi
.next:
    lodsb
    test al, al
    jz .end
    call putc
    jmp .next
.end:
    pop esi
    pop eax
    ret

; EAX as 8 hex digits.
puthex:
    push eax
    push ecx
    push edx
    mov edx, eax
    mov ecx, 8
.digit:
    rol edx, 4
    mov eax, edx
    and eax, 15
    mov al, [hex_digits + eax]
    call putc
    loop .digit
    pop edx
    pop ecx
    pop eax
    ret

; Prints "jqemu-system training: <ESI> <EAX>\r\n".
report:
    push esi
    mov esi, msg_prefix
    call puts
    pop esi
    call puts
    push eax
    mov al, ' '
    call putc
    pop eax
    call puthex
    push esi
    mov esi, msg_eol
    call puts
    pop esi
    ret

; A fatal error: prints the message at ESI and powers off (the test then misses the final line).
fail:
    call puts
    mov esi, msg_eol
    call puts
    mov dx, PM_BASE + 4
    mov ax, 0x2000
    out dx, ax
    hlt
    jmp fail

; ---- descriptor tables ----

; Gate for vector EAX to handler EBX, type/DPL byte CL.
set_gate:
    push edi
    lea edi, [IDT + eax * 8]
    mov [edi], bx
    mov word [edi + 2], SEL_KCODE
    mov byte [edi + 4], 0
    mov [edi + 5], cl
    shr ebx, 16
    mov [edi + 6], bx
    pop edi
    ret

setup_idt:
    pusha
    mov edi, IDT
    mov ecx, 512
    xor eax, eax
    rep stosd
    xor eax, eax
.exceptions:                                        ; vectors 0-31: the stubs of exc_stubs
    mov ebx, eax
    imul ebx, ebx, EXC_STUB_SIZE
    add ebx, exc_stubs
    mov cl, 0x8e                                    ; interrupt gate, DPL 0
    cmp eax, 3
    jne .gate
    mov cl, 0xee                                    ; INT3 may come from ring 3
.gate:
    call set_gate
    inc eax
    cmp eax, 32
    jb .exceptions
.irqs:                                              ; 0x20-0x2f: the PIC's lines
    mov ebx, irq_other
    mov cl, 0x8e
    call set_gate
    inc eax
    cmp eax, 0x30
    jb .irqs
    mov eax, 0x20
    mov ebx, irq_timer
    call set_gate
    mov eax, 0x24
    mov ebx, irq_serial
    call set_gate
    mov eax, 0x80
    mov ebx, syscall_int80
    mov cl, 0xef                                    ; trap gate, DPL 3
    call set_gate
    lidt [idtr]
    ; the TSS: ring 0 stack for events from ring 3, no I/O bitmap
    mov edi, TSS
    mov ecx, 26
    xor eax, eax
    rep stosd
    mov dword [TSS + 4], ESP0_TOP
    mov dword [TSS + 8], SEL_KDATA
    mov word [TSS + 102], 104
    mov eax, TSS
    mov [gdt_tss + 2], ax
    shr eax, 16
    mov [gdt_tss + 4], al
    mov [gdt_tss + 7], ah
    mov ax, SEL_TSS
    ltr ax
    popa
    ret

; ---- exceptions: one stub per vector, then a common handler with a fixup table (as Linux's extable) ----

%macro EXC_STUB 1
    %if %1 = 8 || (%1 >= 10 && %1 <= 14) || %1 = 17
        nop
        nop
    %else
        push strict byte 0
    %endif
    push strict byte %1
    jmp strict near exc_common
%endmacro
exc_stubs:
%assign v 0
%rep 32
    EXC_STUB v
%assign v v + 1
%endrep
EXC_STUB_SIZE equ (($ - exc_stubs) / 32)

exc_common:                                         ; [esp] vector, [esp+4] error code, [esp+8] EIP
    cmp dword [esp], 14
    je page_fault
    push eax
    push ebx
    mov eax, [esp + 8]
    imul eax, eax, 0x01000193
    add eax, [esp + 12]
    add [exc_sum], eax
    mov eax, [esp + 16]
    mov ebx, fixups
.find:
    cmp ebx, fixups_end
    jae .unexpected
    cmp [ebx], eax
    je .found
    add ebx, 8
    jmp .find
.found:
    mov eax, [ebx + 4]
    mov [esp + 16], eax
    pop ebx
    pop eax
    add esp, 8
    iret
.unexpected:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov esi, msg_unexpected
    call puts
    mov eax, [esp + 8]
    call puthex
    mov al, ' '
    call putc
    mov eax, [esp + 16]
    call puthex
    mov esi, msg_empty
    jmp fail

; #PF: maps a fresh frame, filled from its linear address, at CR2 in the window of the current address space.
page_fault:
    push eax
    push ecx
    push edx
    push edi
    mov eax, cr2
    mov edx, eax
    shr edx, 22
    cmp edx, WINDOW >> 22
    jne exc_common.unexpected                        ; a fault outside the window is a bug
    inc dword [pf_count]
    mov edx, [esp + 20]                             ; error code: P, W/R, U/S
    shl edx, 28
    xor edx, eax
    add [pf_sum], edx
    mov ecx, cr3
    mov ecx, [ecx + (WINDOW >> 22) * 4]
    and ecx, ~0xfff
    mov edx, eax
    shr edx, 12
    and edx, 0x3ff
    lea ecx, [ecx + edx * 4]
    mov edi, [frame_next]
    add dword [frame_next], 4096
    push ecx
    and eax, ~0xfff
    mov ecx, 1024
.fill:
    stosd
    add eax, 0x9e3779b9
    loop .fill
    pop ecx
    sub edi, 4096
    or edi, 7
    mov [ecx], edi
    pop edi
    pop edx
    pop ecx
    pop eax
    add esp, 8
    iret

; ---- interrupts ----

irq_timer:
    push eax
    inc dword [ticks]
    mov al, 0x20
    out 0x20, al
    pop eax
    iret

irq_other:                                          ; a spurious or unexpected line: EOI both PICs
    push eax
    inc dword [other_irqs]
    mov al, 0x20
    out 0xa0, al
    out 0x20, al
    pop eax
    iret

; COM1's THRE interrupt: sends the next byte of tx_ptr until the zero, then turns the interrupt off.
irq_serial:
    push eax
    push edx
    push esi
    mov dx, COM1 + 2
    in al, dx                                       ; IIR (reading it clears THRI)
    and al, 0x0f
    cmp al, 0x02
    jne .eoi
    mov esi, [tx_ptr]
    mov al, [esi]
    test al, al
    jz .done
    inc dword [tx_ptr]
    mov dx, COM1
    out dx, al
    inc dword [tx_irqs]
    jmp .eoi
.done:
    mov dx, COM1 + 1
    xor al, al
    out dx, al
    mov byte [tx_done], 1
.eoi:
    mov al, 0x20
    out 0x20, al
    pop esi
    pop edx
    pop eax
    iret

; ---- system calls from ring 3 (EAX = number, EBX = argument; EAX returns) ----

syscall_int80:
    cmp eax, 2
    je sys_exit
    push ds
    push SEL_KDATA
    pop ds
    call sys_dispatch
    pop ds
    iret

sys_dispatch:                                       ; 1: add EBX to the user checksum, returns it rotated
    cmp eax, 1
    jne .bad
    add [user_sum], ebx
    mov eax, [user_sum]
    rol eax, 7
    inc dword [syscalls]
    ret
.bad:
    mov eax, -38                                    ; ENOSYS
    ret

sys_exit:                                           ; back to part_user's caller, ring 0
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov esp, [saved_esp]
    jmp user_returned

sysenter_entry:                                     ; ECX = user ESP, EDX = user EIP (as Linux's vDSO passes)
    push ds
    push ecx
    push edx
    mov cx, SEL_KDATA
    mov ds, cx
    call sys_dispatch
    pop edx
    pop ecx
    pop ds
    sti
    sysexit

; ---- the parts ----

; Boot parameters: the loader's ramdisk and command line, read through ESI's setup header as Linux does.
part_boot_params:
    mov ebx, [boot_params]
    mov esi, [ebx + 0x218]                          ; ramdisk_image
    mov ecx, [ebx + 0x21c]                          ; ramdisk_size
    mov eax, ecx
    call adler32
    push eax
    mov eax, ecx
    mov esi, msg_initrd_size
    call report
    pop eax
    mov esi, msg_initrd
    call report
    mov esi, msg_cmdline
    call puts
    mov esi, [ebx + 0x228]                          ; cmd_line_ptr
    mov ecx, 200
.copy:
    lodsb
    test al, al
    jz .end
    call putc
    loop .copy
.end:
    mov esi, msg_eol
    jmp puts

; Adler-32 of ECX bytes at ESI (loads, divides): EAX.
adler32:
    push ebx
    push ecx
    push edx
    push edi
    push ebp
    mov edi, 1                                      ; a
    xor ebp, ebp                                    ; b
    mov ebx, 65521
    jecxz .end
.byte:
    movzx eax, byte [esi]
    inc esi
    add eax, edi
    xor edx, edx
    div ebx
    mov edi, edx
    lea eax, [ebp + edi]
    xor edx, edx
    div ebx
    mov ebp, edx
    loop .byte
.end:
    mov eax, ebp
    shl eax, 16
    or eax, edi
    pop ebp
    pop edi
    pop edx
    pop ecx
    pop ebx
    ret

; Real mode and back: 16-bit protected mode, CR0.PE off, real-mode segments, an IVT of our own, INT, 16-bit
; arithmetic, then CR0.PE on and a far jump to 32-bit code (as a boot loader's or the kernel's trampolines do).
part_real_mode:
    pusha
    mov esi, rmode_image
    mov edi, RM_CODE
    mov ecx, rm_end - rm_start
    rep movsb
    mov [saved_esp], esp
    jmp SEL_CODE16:RM_CODE
rm_back:
    mov ax, SEL_KDATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, [saved_esp]
    lidt [idtr]
    movzx eax, word [rm_result]
    shl eax, 16
    mov ax, [rm_result + 2]
    mov esi, msg_real
    call report
    popa
    ret

; Serial probing as Linux's 8250 driver does it: scratch register, FIFO bits of IIR, loopback through MSR.
part_serial_probe:
    mov dx, COM1 + 7
    mov al, 0xa5
    out dx, al
    in al, dx
    movzx ebx, al
    shl ebx, 8
    mov dx, COM1 + 2
    in al, dx
    and al, 0xc0
    mov bl, al
    shl ebx, 8
    mov dx, COM1 + 4
    mov al, 0x1a                                    ; loopback, RTS, OUT1... as the probe does
    out dx, al
    mov dx, COM1 + 6
    in al, dx
    and al, 0xf0
    mov bl, al
    mov dx, COM1 + 4
    mov al, 0x0b                                    ; DTR, RTS, OUT2
    out dx, al
    mov eax, ebx
    mov esi, msg_serial
    jmp report

; fw_cfg: signature and interface ID through the ports, the signature again through DMA.
part_fw_cfg:
    mov dx, FW_CFG
    xor ax, ax
    out dx, ax
    inc dx
    mov ecx, 4
.sig:
    in al, dx
    shl ebx, 8
    mov bl, al
    loop .sig
    mov eax, ebx
    mov esi, msg_fwcfg_sig
    call report
    mov dx, FW_CFG
    mov ax, 1
    out dx, ax
    inc dx
    xor ebx, ebx
    mov ecx, 4
.id:
    in al, dx
    ror ebx, 8
    mov bl, al
    loop .id
    ror ebx, 8
    mov eax, ebx
    mov esi, msg_fwcfg_id
    call report
    ; DMA: control = select 0 | SELECT | READ, 4 bytes to dma_sig (big-endian fields)
    mov dword [dma_control], 0x0a000000
    mov dword [dma_length], 0x04000000
    mov dword [dma_address], 0
    mov eax, dma_sig
    bswap eax
    mov [dma_address + 4], eax
    mov dx, FW_CFG_DMA
    xor eax, eax
    out dx, eax
    mov dx, FW_CFG_DMA + 4
    mov eax, dma_control
    bswap eax
    out dx, eax
    mov eax, [dma_control]
    bswap eax
    xor eax, [dma_sig]
    mov esi, msg_fwcfg_dma
    jmp report

; PCI configuration mechanism #1 (the host bridge, the ISA bridge, the PM function; the PM block at 0x600),
; CMOS memory sizes and the RTC's status registers.
part_pci_cmos:
    mov eax, 0x80000000                             ; 00:00.0
    call pci_read
    mov ebx, eax
    mov eax, 0x80000800                             ; 00:01.0
    call pci_read
    xor ebx, eax
    rol ebx, 9
    mov eax, 0x80000b00                             ; 00:01.3
    call pci_read
    xor ebx, eax
    mov dx, 0xcf8
    mov eax, 0x80000b40                             ; PMBA
    out dx, eax
    mov dx, 0xcfc
    mov eax, PM_BASE | 1
    out dx, eax
    mov dx, 0xcf8
    mov eax, 0x80000b80                             ; PMREGMISC: I/O space on
    out dx, eax
    mov dx, 0xcfc
    mov al, 1
    out dx, al
    mov eax, 0x80000b40
    call pci_read
    xor ebx, eax
    mov eax, ebx
    mov esi, msg_pci
    call report
    mov al, 0x35                                    ; memory above 16 MiB, 64 KiB units
    call cmos_read
    mov bh, al
    mov al, 0x34
    call cmos_read
    mov bl, al
    shl ebx, 16
    mov al, 0x31                                    ; memory from 1 MiB, KiB (at most 0xffff)
    call cmos_read
    mov bh, al
    mov al, 0x30
    call cmos_read
    mov bl, al
    mov eax, ebx
    mov esi, msg_cmos
    call report
    mov al, 0x0a                                    ; status A, B, D and the seconds: read, not reported
    call cmos_read
    mov al, 0x0b
    call cmos_read
    mov al, 0x0d
    call cmos_read
    xor al, al
    jmp cmos_read

pci_read:
    mov dx, 0xcf8
    out dx, eax
    mov dx, 0xcfc
    in eax, dx
    ret

cmos_read:
    out 0x70, al
    in al, 0x71
    ret

; Paging: identity 0-16 MiB in global 4 KiB pages, 16-32 MiB in 4 MiB pages, a window at 1 GiB mapped on demand;
; two address spaces that differ in the window; remapping with INVLPG; CR3 switches.
part_paging:
    pusha
    mov edi, PGDIR_A
    mov ecx, (PT_WIN_B + 4096 - PGDIR_A) / 4
    xor eax, eax
    rep stosd
    mov edi, PT_LOW
    mov eax, 0x107                                  ; present, writable, user, global
    mov ecx, 4096
.pte:
    stosd
    add eax, 4096
    loop .pte
    mov edi, PGDIR_A
    mov eax, PT_LOW | 7
    mov ecx, 4
.pde:
    stosd
    add eax, 4096
    loop .pde
    mov eax, 0x1000000 | 0x187                      ; 4 MiB pages: PS, global
    mov ecx, 4
.large:
    stosd
    add eax, 0x400000
    loop .large
    mov dword [PGDIR_A + (WINDOW >> 22) * 4], PT_WIN_A | 7
    mov esi, PGDIR_A
    mov edi, PGDIR_B
    mov ecx, 1024
    rep movsd
    mov dword [PGDIR_B + (WINDOW >> 22) * 4], PT_WIN_B | 7
    mov eax, cr4
    or eax, 0x90                                    ; PSE, PGE
    mov cr4, eax
    mov eax, PGDIR_A
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000                              ; PG, WP
    mov cr0, eax
    ; demand faults: write every window page in A, then read them all in B (faults again: other frames)
    mov edi, WINDOW
    mov ecx, WIN_PAGES
.touch:
    mov eax, [edi + 8]
    add [edi + 12], eax
    add edi, 4096
    loop .touch
    mov eax, PGDIR_B
    mov cr3, eax
    xor ebx, ebx
    mov esi, WINDOW
    mov ecx, WIN_PAGES
.read:
    add ebx, [esi + 12]
    rol ebx, 3
    add esi, 4096
    loop .read
    ; switch address spaces: the same linear address reads other frames
    mov ecx, 2000
.switch:
    mov eax, PGDIR_A
    mov cr3, eax
    add ebx, [WINDOW + 12]
    mov eax, PGDIR_B
    mov cr3, eax
    xor ebx, [WINDOW + ecx * 4]
    rol ebx, 1
    loop .switch
    ; remap window page 0 of B onto each frame of A in turn, with INVLPG
    mov ecx, WIN_PAGES * 8
.remap:
    mov eax, ecx
    and eax, WIN_PAGES - 1 & 0x7f
    mov eax, [PT_WIN_A + eax * 4]
    mov [PT_WIN_B], eax
    invlpg [WINDOW]
    add ebx, [WINDOW + 12]
    ror ebx, 5
    loop .remap
    mov eax, ebx
    mov esi, msg_paging
    call report
    mov eax, [pf_count]
    mov esi, msg_faults
    call report
    mov eax, [pf_sum]
    mov esi, msg_fault_sum
    call report
    popa
    ret

; The PIC and the PIT: remap the PICs, 1 kHz ticks, a calibration loop on channel 2's gate as Linux's, then
; work with interrupts on until 30 ticks came, and HLT for 5 more.
part_interrupts:
    pusha
    mov al, 0x11
    out 0x20, al
    out 0xa0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xa1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xa1, al
    mov al, 1
    out 0x21, al
    out 0xa1, al
    mov al, 0xff
    out 0xa1, al
    mov al, 0xfe                                    ; only IRQ0
    out 0x21, al
    in al, 0x21
    movzx ebx, al
    mov al, 0x0b                                    ; OCW3: read ISR
    out 0x20, al
    in al, 0x20
    shl ebx, 8
    mov bl, al
    mov al, 0x0a
    out 0x20, al
    mov al, 0x34                                    ; channel 0, mode 2, 1193 (1 kHz)
    out 0x43, al
    mov al, 1193 & 0xff
    out 0x40, al
    mov al, 1193 >> 8
    out 0x40, al
    ; channel 2 gate, mode 0, 0x2000 counts: poll OUT2 in port 0x61 with RDTSC and latched reads
    in al, 0x61
    and al, 0xfd
    or al, 1
    out 0x61, al
    mov al, 0xb0
    out 0x43, al
    xor al, al
    out 0x42, al
    mov al, 0x20
    out 0x42, al
    mov ecx, 20000000
.calibrate:
    rdtsc
    mov al, 0x80
    out 0x43, al
    in al, 0x42
    in al, 0x42
    in al, 0x61
    test al, 0x20
    loopz .calibrate
    test ecx, ecx
    jnz .calibrated
    mov esi, msg_pit_stuck
    jmp fail
.calibrated:
    ; the PM timer runs
    mov dx, PM_BASE + 8
    in eax, dx
    mov esi, eax
    mov ecx, 10000000
.pm:
    in eax, dx
    cmp eax, esi
    loope .pm
    jne .pm_runs
    mov esi, msg_pm_stuck
    jmp fail
.pm_runs:
    mov dword [ticks], 0
    sti
    xor edx, edx
.work:
    mov eax, edx
    imul eax, eax, 0x01000193
    xor edx, eax
    inc edx
    cmp dword [ticks], 30
    jb .work
    mov esi, [ticks]
    add esi, 5
.idle:
    hlt
    cmp [ticks], esi
    jb .idle
    mov eax, ebx
    mov esi, msg_pic
    call report
    popa
    ret

; Code the guest writes: NSLOTS functions copied from 8 templates with their own constants, run 100 times each
; (cold: the interpreter), 700 times (warm: the translator's blocks), patched (invalidation) and run again.
part_code:
    pusha
    mov edi, BUF                                    ; data for the templates
    mov ecx, BUF_SIZE / 4
    mov eax, 0x12345678
.fill:
    stosd
    imul eax, eax, 1103515245
    add eax, 12345
    loop .fill
    mov ebx, 0x9e3779b1
    call write_slots
    xor ebp, ebp
    mov ecx, 100
    call run_slots
    mov ecx, 700
    call run_slots
    mov ebx, 0x7f4a7c15
    call write_slots
    mov ecx, 600
    call run_slots
    mov eax, ebp
    mov esi, msg_code
    call report
    popa
    ret

; Copies template k % 8 to slot k and patches its constant (the MOV ECX at its start) with k * EBX.
write_slots:
    pusha
    xor ebp, ebp
.slot:
    mov eax, ebp
    and eax, 7
    mov esi, [templates + eax * 4]
    mov edi, ebp
    shl edi, 6
    add edi, SLOTS
    push edi
    mov ecx, SLOT_SIZE
    rep movsb
    pop edi
    mov eax, ebp
    imul eax, ebx
    mov [edi + 1], eax
    inc ebp
    cmp ebp, NSLOTS
    jb .slot
    popa
    ret

; Calls every slot ECX times (slot by slot), folding EAX into EBP.
run_slots:
    push ebx
    push ecx
    push esi
    push edi
    mov edi, ecx
    mov ebx, SLOTS
.slot:
    mov ecx, edi
.call:
    push ecx
    mov esi, BUF
    mov eax, ebp
    call ebx
    add ebp, eax
    rol ebp, 1
    pop ecx
    loop .call
    add ebx, SLOT_SIZE
    cmp ebx, SLOTS + NSLOTS * SLOT_SIZE
    jb .slot
    pop edi
    pop esi
    pop ecx
    pop ebx
    ret

; The templates: each starts with MOV ECX, imm32 (patched), takes EAX and ESI = BUF, returns EAX; at most 64
; bytes; flags are only read after instructions that define them.
templates: dd t0, t1, t2, t3, t4, t5, t6, t7
t0:                                                 ; arithmetic, shifts and rotates (by 1, by CL, of bytes,
    mov ecx, 0                                      ; words, dwords and memory; RCL reads a defined CF)
    add eax, ecx
    rol eax, 5
    xor eax, [esi + 64]
    imul eax, eax, 31
    sub eax, ecx
    ror eax, 11
    lea eax, [eax + eax * 4 + 7]
    mov edx, eax
    and cl, 7
    shl dl, cl
    sar dx, 1
    shr edx, cl
    rcl edx, 1
    rol dx, cl
    ror dword [esi + 0xb000], cl
    xor eax, edx
    not eax
    neg eax
    ret
t1:                                                 ; bit instructions
    mov ecx, 0
    or ecx, 1
    bsf edx, ecx
    bsr ecx, ecx
    add edx, ecx
    bt eax, edx
    setc cl
    btc eax, 3
    shld eax, edx, 7
    shrd edx, eax, 3
    xor eax, edx
    add al, cl
    ret
t2:                                                 ; loads and stores of bytes, words, dwords
    mov ecx, 0
    mov edx, ecx
    and edx, 0xffc
    movzx ecx, byte [esi + edx]
    movsx edx, word [esi + edx + 2]
    add eax, ecx
    xor eax, edx
    mov [esi + 0x8000], eax
    mov cx, [esi + 0x8002]
    add ax, cx
    mov [esi + 0x8004], al
    ret
t3:                                                 ; multiplies and divides
    mov ecx, 0
    or ecx, 3
    push ebx
    mov ebx, eax
    xor edx, edx
    div ecx
    add eax, edx
    mul ecx
    xor eax, edx
    add eax, ebx
    pop ebx
    ret
t4:                                                 ; string instructions
    mov ecx, 0
    and ecx, 7
    inc ecx
    push esi
    push edi
    lea edi, [esi + 0x9000]
    rep movsd
    lea esi, [esi + 0x40]
    lodsd
    add eax, [edi - 4]
    pop edi
    pop esi
    ret
t5:                                                 ; conditions: CMOV, SETcc, ADC, SBB
    mov ecx, 0
    cmp eax, ecx
    cmovb eax, ecx
    setg dl
    movzx edx, dl
    add eax, ecx
    adc eax, edx
    cmp eax, 0x40000000
    sbb eax, edx
    jns .positive
    neg eax
.positive:
    ret
t6:                                                 ; locked and exchanging instructions
    mov ecx, 0
    lock xadd [esi + 0xa000], eax
    lock cmpxchg [esi + 0xa004], ecx
    xchg [esi + 0xa008], eax
    bswap eax
    lock inc dword [esi + 0xa00c]
    add eax, [esi + 0xa00c]
    ret
t7:                                                 ; the stack: ENTER/LEAVE, PUSH/POP, LOOP
    mov ecx, 0
    enter 16, 0
    mov [ebp - 4], eax
    and ecx, 3
    inc ecx
.again:
    push ecx
    add [ebp - 4], ecx
    pop edx
    rol dword [ebp - 4], 3
    loop .again
    mov eax, [ebp - 4]
    leave
    ret

; Hot loops (regions): a table-driven CRC-32 over the buffer, several times.
part_hot_loops:
    pusha
    mov edi, CRC_TABLE
    xor ecx, ecx
.entry:
    mov eax, ecx
    mov edx, 8
.bit:
    shr eax, 1
    jnc .nopoly
    xor eax, 0xedb88320
.nopoly:
    dec edx
    jnz .bit
    stosd
    inc ecx
    cmp ecx, 256
    jb .entry
    mov eax, -1
    mov ebp, 12
.pass:
    mov esi, BUF
    mov ecx, BUF_SIZE
.byte:
    movzx edx, byte [esi]
    inc esi
    xor dl, al
    shr eax, 8
    xor eax, [CRC_TABLE + edx * 4]
    dec ecx
    jnz .byte
    dec ebp
    jnz .pass
    not eax
    mov esi, msg_crc
    call report
    popa
    ret

; Exceptions fixed up through the table: #DE, #UD, #GP (a bad selector), #BP, #NP-free INT3, #GP from
; a privileged instruction, #PF on a not-present page outside the window is not tried (fatal by design).
part_exceptions:
    pusha
    mov ecx, 50
exc_round:
    xor edx, edx
    mov eax, ecx
    xor ebx, ebx
de_at:
    div ebx
de_resume:
ud_at:
    ud2
ud_resume:
    mov ax, 0x1234
gp_at:
    mov ds, ax
gp_resume:
    int3
bp_resume:
    loop exc_round
    mov ax, SEL_KDATA
    mov ds, ax
    mov eax, [exc_sum]
    mov esi, msg_exceptions
    call report
    popa
    ret

; The x87 (integer square roots through FSQRT, rounding to nearest) and FXSAVE/FXRSTOR.
part_fpu:
    pusha
    mov eax, cr0
    and eax, ~0x0c                                  ; EM, TS off
    or eax, 0x22                                    ; MP, NE
    mov cr0, eax
    mov eax, cr4
    or eax, 0x200                                   ; OSFXSR
    mov cr4, eax
    fninit
    xor ebx, ebx
    mov ecx, 3000
.root:
    mov [fpu_in], ecx
    fild dword [fpu_in]
    fimul dword [fpu_in]
    fsqrt
    fistp dword [fpu_out]
    add ebx, [fpu_out]
    rol ebx, 1
    loop .root
    fld1
    fldpi
    fxsave [FXAREA]
    fninit
    fxrstor [FXAREA]
    fmulp st1, st0
    fistp dword [fpu_out]
    add ebx, [fpu_out]
    mov eax, ebx
    mov esi, msg_fpu
    call report
    popa
    ret

; Ring 3: IRET to user code, which faults window pages in (user faults), makes INT 0x80 and SYSENTER calls,
; and exits through INT 0x80; the kernel comes back to user_returned on its own stack.
part_user:
    pusha
    mov ecx, 0x174                                  ; SYSENTER_CS, _ESP, _EIP
    xor edx, edx
    mov eax, SEL_KCODE
    wrmsr
    inc ecx
    mov eax, SYSENTER_TOP
    wrmsr
    inc ecx
    mov eax, sysenter_entry
    wrmsr
    mov [saved_esp], esp
    push SEL_UDATA
    push USTACK_TOP
    push 0x202                                      ; IF
    push SEL_UCODE
    push user_main
    iret
user_returned:
    mov eax, [user_sum]
    mov esi, msg_user
    call report
    mov eax, [syscalls]
    mov esi, msg_syscalls
    call report
    popa
    ret

user_main:
    mov ax, SEL_UDATA
    mov ds, ax
    mov es, ax
    mov edi, WINDOW + WIN_PAGES * 4096              ; pages not yet mapped: faults from ring 3
    mov ecx, 32
.touch:
    mov eax, [edi]
    mov [edi + 4], ecx
    add edi, 4096
    loop .touch
    mov esi, 4000
.calls:
    mov eax, 1
    mov ebx, esi
    int 0x80
    mov ebx, eax
    mov eax, 1
    push esi
    mov ecx, esp
    mov edx, .after
    sysenter
.after:
    pop esi
    dec esi
    jnz .calls
    mov ebx, [WINDOW + WIN_PAGES * 4096 + 4]
    mov eax, 1
    int 0x80
    mov eax, 2
    int 0x80

; The serial port driven by its THRE interrupt (IRQ4), as Linux's 8250 driver writes once the console is up.
part_serial_irq:
    pusha
    mov dword [tx_ptr], msg_irq_line
    mov byte [tx_done], 0
    mov al, 0xee                                    ; IRQ0 and IRQ4
    out 0x21, al
    mov dx, COM1 + 1
    mov al, 0x02                                    ; IER: THRE
    out dx, al
.wait:
    hlt
    cmp byte [tx_done], 0
    je .wait
    cli
    mov al, 0xfe
    out 0x21, al
    mov eax, [tx_irqs]
    mov esi, msg_tx_irqs
    call report
    popa
    ret

serial_init:
    mov dx, COM1 + 1
    xor al, al
    out dx, al                                      ; IER off
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                                      ; DLAB
    mov dx, COM1
    mov al, 1
    out dx, al                                      ; 115200 baud
    inc dx
    xor al, al
    out dx, al
    mov dx, COM1 + 3
    mov al, 3
    out dx, al                                      ; 8N1
    mov dx, COM1 + 2
    mov al, 0xc7
    out dx, al                                      ; FIFOs on and cleared
    mov dx, COM1 + 4
    mov al, 0x0b
    out dx, al                                      ; DTR, RTS, OUT2
    ret

; ---- data ----
align 8
gdt:
    dq 0
    dq 0x00cf9a000000ffff                           ; 0x08 ring 0 code
    dq 0x00cf92000000ffff                           ; 0x10 ring 0 data
    dq 0x00cffa000000ffff                           ; 0x18 ring 3 code
    dq 0x00cff2000000ffff                           ; 0x20 ring 3 data
    dq 0x00009a000000ffff                           ; 0x28 16-bit code, base 0, 64 KiB
    dq 0x000092000000ffff                           ; 0x30 16-bit data
gdt_tss:
    dq 0x0000890000000067                           ; 0x38 TSS (base filled in)
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd gdt
idtr:
    dw 256 * 8 - 1
    dd IDT
fixups:
    dd de_at, de_resume
    dd ud_at, ud_resume
    dd gp_at, gp_resume
    dd bp_resume, bp_resume
fixups_end:
align 8
dma_control: dd 0
dma_length: dd 0
dma_address: dd 0, 0
dma_sig: dd 0
boot_params: dd 0
saved_esp: dd 0
exc_sum: dd 0
pf_count: dd 0
pf_sum: dd 0
frame_next: dd FRAMES
ticks: dd 0
other_irqs: dd 0
tx_ptr: dd 0
tx_irqs: dd 0
tx_done: db 0
align 4
user_sum: dd 0
syscalls: dd 0
fpu_in: dd 0
fpu_out: dd 0
hex_digits: db "0123456789abcdef"
msg_prefix: db "jqemu-system training: ", 0
msg_eol: db 13, 10, 0
msg_empty: db 0
msg_hello: db 13, 10, "jqemu-system training: start", 13, 10, 0  ; on a line of its own after the firmware's
msg_done: db "jqemu-system training: ok", 13, 10, 0
msg_unexpected: db "jqemu-system training: FAILED: unexpected exception ", 0
msg_pit_stuck: db "jqemu-system training: FAILED: PIT channel 2 never ended its count", 0
msg_pm_stuck: db "jqemu-system training: FAILED: the PM timer does not run", 0
msg_initrd_size: db "initrd size", 0
msg_initrd: db "initrd adler32", 0
msg_cmdline: db "jqemu-system training: command line ", 0
msg_real: db "real mode", 0
msg_serial: db "serial probe", 0
msg_fwcfg_sig: db "fw_cfg signature", 0
msg_fwcfg_id: db "fw_cfg id", 0
msg_fwcfg_dma: db "fw_cfg dma", 0
msg_pci: db "pci", 0
msg_cmos: db "cmos memory", 0
msg_paging: db "paging", 0
msg_faults: db "page faults", 0
msg_fault_sum: db "page fault sum", 0
msg_pic: db "pic", 0
msg_code: db "generated code", 0
msg_crc: db "crc32", 0
msg_exceptions: db "exceptions", 0
msg_fpu: db "x87", 0
msg_user: db "ring 3", 0
msg_syscalls: db "system calls", 0
msg_tx_irqs: db "serial interrupts", 0
msg_irq_line: db "jqemu-system training: this line went out through the serial interrupt", 13, 10, 0
align 16
rmode_image:

; ---------------------------------------------------------------------------------------------------------------
; The real-mode trip, run at RM_CODE: entered through the 16-bit code segment, left by a far jump to rm_back.
section rmode follows=kernel vstart=RM_CODE align=16
bits 16
rm_start:
    mov ax, SEL_DATA16
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, cr0
    and eax, ~1
    mov cr0, eax
    jmp 0:rm_real
rm_real:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    lidt [rm_idtr]
    mov word [RM_IVT + 0x40 * 4], rm_int40
    mov word [RM_IVT + 0x40 * 4 + 2], 0
    xor bx, bx
    xor dx, dx
    mov cx, 3000
.loop:
    mov ax, cx
    mul cx
    xor bx, ax
    add bx, dx
    rol bx, 3
    int 0x40
    push bx
    pop si
    and si, 0x7e                                    ; within the code copied to RM_CODE
    mov ax, RM_CODE >> 4                            ; a segment load and a segment-relative access
    mov es, ax
    add bx, [es:si]
    xor ax, ax
    mov es, ax
    loop .loop
    mov [rm_result_rm], bx
    mov [rm_result_rm + 2], dx
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword SEL_KCODE:rm_back
rm_int40:
    add bx, 0x1234
    xor dx, bx
    iret
rm_idtr:
    dw 0x3ff
    dd RM_IVT
align 4
rm_result_rm: dd 0
rm_result equ rm_result_rm
align 16
rm_end:
