; jqemu-i386's AOT training guest (org.jqemu.linuxuser.Training embeds the bytes nasm -f bin makes of this file;
; TrainingTest checks they match): a static i386 ELF whose loops the translator turns into blocks and regions
; (byte and dword loads and stores, stack slots, calls, string instructions, multiplies and divides, conditions,
; and in mix the read-modify-write, exchange and shift forms every program's start runs),
; then writes one line with a checksum and exits with status 0.
bits 32
org 0x08048000
ehdr:
    db 0x7f, "ELF", 1, 1, 1, 0
    times 8 db 0
    dw 2                        ; ET_EXEC
    dw 3                        ; EM_386
    dd 1
    dd start
    dd phdr - ehdr
    dd 0, 0
    dw phdr - ehdr              ; e_ehsize
    dw 32                       ; e_phentsize
    dw 1, 0, 0, 0
phdr:
    dd 1                        ; PT_LOAD
    dd 0
    dd ehdr, ehdr
    dd filesize
    dd memsize
    dd 7                        ; read, write, execute
    dd 0x1000
start:
    mov ebp, esp
    sub esp, 32
    mov dword [esp + 4], 0      ; a checksum in a stack slot
    mov eax, 5                  ; open("/dev/null", O_RDONLY), a read from it (end of file: 0) and close: the
    mov ebx, devnull            ; file system calls a program's start makes
    xor ecx, ecx
    int 0x80
    mov ebx, eax
    mov eax, 3
    mov ecx, buffer
    mov edx, 64
    int 0x80
    add [esp + 4], eax          ; (an error would show in the checksum)
    mov eax, 6
    int 0x80
    mov ebx, 300                ; rounds
round:
    mov edi, buffer             ; fill the buffer with a byte pattern
    mov ecx, 4096
    mov eax, ebx
fill:
    mov [edi], al
    add eax, 7
    inc edi
    dec ecx
    jnz fill
    mov esi, buffer             ; sum it with a call per 64 bytes
    xor edx, edx
sum:
    push esi
    call block64
    add esp, 4
    add [esp + 4], eax
    add esi, 64
    cmp esi, buffer + 4096
    jb sum
    mov esi, buffer             ; copy half of it and compare the halves
    mov edi, buffer + 4096
    mov ecx, 512
    cld
    rep movsd
    mov esi, buffer
    mov edi, buffer + 4096
    mov ecx, 2048
    repe cmpsb
    setz al
    movzx eax, al
    add [esp + 4], eax
    mov eax, [esp + 4]          ; arithmetic on the checksum
    imul eax, eax, 31
    xor edx, edx
    mov ecx, 1000003
    div ecx
    mov [esp + 4], edx
    call mix
    xor [esp + 4], eax
    dec ebx
    jnz round
    mov eax, [esp + 4]          ; the checksum in hex at the end of the message
    mov edi, digits + 7
    mov ecx, 8
hex:
    mov edx, eax
    and edx, 15
    mov dl, [hexdigits + edx]
    mov [edi], dl
    shr eax, 4
    dec edi
    dec ecx
    jnz hex
    mov eax, 4                  ; write(1, message, length)
    mov ebx, 1
    mov ecx, message
    mov edx, message_length
    int 0x80
    mov eax, 1                  ; exit(0)
    xor ebx, ebx
    int 0x80

block64:                        ; eax = a hash of the 64 bytes at [esp + 4]
    push ebx
    mov ebx, [esp + 8]
    xor eax, eax
    mov ecx, 64
.next:
    movzx edx, byte [ebx]
    shl eax, 5
    add eax, edx
    ror eax, 3
    cmp dl, 0x80
    jb .low
    xor eax, 0x5bd1e995
.low:
    inc ebx
    dec ecx
    jnz .next
    pop ebx
    ret

mix:                            ; eax = the checksum run through instruction forms the loops above lack, which real
    push ebx                    ; programs run from their first blocks (the cache then holds their code paths)
    mov eax, [esp + 12]         ; the caller's checksum (its [esp + 4], above the return address and ebx)
    mov [scratch], eax
    mov ebx, eax
    not ebx                     ; group 3 on a register and on memory
    neg ebx
    not dword [scratch]
    neg dword [scratch]
    xchg ebx, [scratch]         ; exchanges, plain and locked read-modify-writes
    xchg ecx, edx
    lock cmpxchg [scratch], ebx
    lock xadd [scratch], ebx
    inc dword [scratch]
    dec dword [scratch]
    lock add [scratch], ebx     ; locked arithmetic (C libraries' atomic counters)
    lock inc dword [scratch]
    lock dec dword [scratch]
    mov ecx, ebx                ; shifts by CL (a count of 0 included) and double shifts
    and ecx, 31
    shl ebx, cl
    shr dword [scratch], cl
    sar ebx, cl
    rcl ebx, cl
    mov edx, [scratch]
    shld edx, ebx, 5
    shrd ebx, edx, cl
    imul ebx, edx
    test ebx, edx               ; TEST of registers, then of bytes
    jnz .nonzero
    inc ebx
.nonzero:
    test bl, dl
    jz .zero
    add ebx, 3
.zero:
    mov eax, [scratch]
    xor eax, ebx
    pop ebx
    ret

hexdigits: db "0123456789abcdef"
message: db "jqemu-i386 training ok "
digits: db "00000000", 10
message_length equ $ - message
devnull: db "/dev/null", 0
filesize equ $ - ehdr
buffer equ ehdr + 0x1000             ; its own page: no stores next to the code
scratch equ buffer + 8192
memsize equ 0x1000 + 8192 + 4
