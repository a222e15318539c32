; dirtier.asm - the kvmigrate test guest: a boot sector that keeps dirtying guest RAM
; in a pattern whose consistency can be checked on a paused VM (see TestGuest.java,
; IntegrityCheck.java).
;
; Build: nasm -f bin -o dirtier.bin dirtier.asm   (the result must be exactly 512 bytes)
;
; Layout of a page of the span after the fill pass:
;   dword0 = number of the last pass that wrote the page
;   dword1 = page index XOR 0x4B564D47 ("GMVK")
;   dwords 2..1023 = 0xA5A5A5A5 (mode 0) or consecutive xorshift32 outputs (mode 1)
; Status block at 0x600: "KVMC", pass in progress (0x604), page being written (0x608).

bits 16
org 0x7C00

STATUS   equ 0x600
PASS     equ 0x604
PAGE     equ 0x608
PAGE_TAG equ 0x4B564D47
FILL     equ 0xA5A5A5A5
COM1     equ 0x3F8
PARAMS   equ 0x1E0              ; offset of the parameter block in the sector; Java patches it

start:
    cli
    cld
    jmp 0:.cs0                  ; some BIOSes enter at 07C0:0000; force CS=0 to match org
.cs0:
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    in al, 0x92                 ; fast A20 (bit 1); never set bit 0, it resets the machine
    or al, 2
    and al, 0xFE
    out 0x92, al
    lgdt [gdt_desc]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp 0x08:pm32               ; far jump loads the 32-bit code segment

bits 32
pm32:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, 0x7C00
    cmp dword [p_magic], 'KVMG'
    jne halt                    ; mis-patched image: never show the status magic
    xor eax, eax
    mov [PASS], eax
    mov [PAGE], eax
    mov dword [STATUS], 'KVMC'  ; last: once the magic is visible, pass/page are valid

    ; minimal UART init: no interrupts, 115200 8N1
    mov dx, COM1+1
    xor al, al
    out dx, al
    mov dx, COM1+3
    mov al, 0x80
    out dx, al
    mov dx, COM1
    mov al, 1
    out dx, al
    inc dx
    xor al, al
    out dx, al
    mov dx, COM1+3
    mov al, 3
    out dx, al

    mov ebp, [p_seed]           ; ebp = xorshift32 state, carried across pages and passes
    xor esi, esi                ; esi = pass number
    call do_pass                ; pass 0: fill
    mov ebx, ready_msg
    call puts
.next:
    inc esi
    mov [PASS], esi             ; the pass counter first, then the pages
    call do_pass
    jmp .next

halt:
    hlt
    jmp halt

; One pass over the span; esi = pass number. Clobbers eax, ebx, ecx, edx, edi.
do_pass:
    xor ebx, ebx                ; ebx = page index
    mov edi, [p_start]          ; edi = page address
.page:
    mov [PAGE], ebx
    test esi, esi
    jz .full                    ; the fill pass writes whole pages in both modes
    cmp dword [p_mode], 0
    je .header                  ; mode 0: the header store alone dirties the page
.full:
    call fill_body
    mov eax, ebx
    xor eax, PAGE_TAG
    mov [edi+4], eax
.header:
    mov [edi], esi              ; the single store that moves the page across the boundary
    test esi, esi
    jz .next_page               ; no delay in the fill pass: reach READY quickly
    mov ecx, [p_delay]
    jecxz .next_page            ; delay 0 must not mean 2^32 turns
.delay:
    dec ecx
    jnz .delay
.next_page:
    add edi, 4096
    inc ebx
    cmp ebx, [p_pages]
    jb .page
    ret

; Fills dwords 2..1023 of the page at edi. The header is written only afterwards, so a
; paused vCPU never leaves a half-written header behind. Clobbers eax, ecx, edx.
fill_body:
    push edi
    add edi, 8
    mov ecx, 1022
    cmp dword [p_mode], 0
    jne .random
    mov eax, FILL
    rep stosd
    pop edi
    ret
.random:
    mov eax, ebp
.xorshift:                      ; x ^= x << 13; x ^= x >> 17; x ^= x << 5
    mov edx, eax
    shl edx, 13
    xor eax, edx
    mov edx, eax
    shr edx, 17
    xor eax, edx
    mov edx, eax
    shl edx, 5
    xor eax, edx
    stosd
    dec ecx
    jnz .xorshift
    mov ebp, eax
    pop edi
    ret

; Writes the NUL-terminated string at ebx to COM1, polling LSR bit 5 (THR empty).
puts:
    mov dx, COM1+5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, [ebx]
    test al, al
    jz .done
    mov dx, COM1
    out dx, al
    inc ebx
    jmp puts
.done:
    ret

ready_msg:
    db 'KVMIGRATE-GUEST READY', 13, 10, 0

align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF       ; 0x08: code, base 0, limit 4 GiB, 32-bit
    dq 0x00CF92000000FFFF       ; 0x10: data, base 0, limit 4 GiB
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt

; Parameter block at the fixed offset 0x1E0 (physical 0x7DE0); all fields little-endian.
    times PARAMS - ($ - $$) db 0
p_magic: db 'KVMG'
p_start: dd 0x00100000          ; physical address of the span
p_pages: dd 8192                ; 4 KiB pages in the span (32 MiB)
p_delay: dd 0                   ; dec/jnz turns after each page in passes >= 1
p_mode:  dd 0                   ; 0 = repeating 0xA5A5A5A5, 1 = xorshift32 output
p_seed:  dd 0x2545F491          ; xorshift32 seed, nonzero

    times 510 - ($ - $$) db 0
    dw 0xAA55
